"""Command-line conventions that hold across every command.

An environment variable means one thing wherever it is read: a flag whose value means
something different in each command (``--out``, ``--output``, ``--format``) reads a variable
that names its command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import COMMANDS, main

CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
    "spec:\n  emailAddresses: [ann@example.com]\n"
)


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def meaning(param: click.Parameter) -> tuple[Any, ...]:
    """What a value of the parameter is: its type (with choices or path kind) and arity."""
    info = param.to_info_dict()
    return (
        repr(info["type"]),
        info.get("is_flag", False),
        info.get("multiple", False),
        info.get("nargs"),
    )


def test_an_environment_variable_means_one_thing_across_commands() -> None:
    """Every RECONCILER_* variable read by several commands takes the same kind of value."""
    context = click.Context(main)
    uses: dict[str, dict[tuple[Any, ...], list[str]]] = {}
    for name in COMMANDS:
        command = main.get_command(context, name)
        assert command is not None
        for param in command.params:
            names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
            for var in names:
                uses.setdefault(var, {}).setdefault(meaning(param), []).append(name)
    clashes = {var: found for var, found in uses.items() if len(found) > 1}
    assert clashes == {}


@pytest.mark.parametrize("var", ["RECONCILER_OUTPUT", "RECONCILER_PLAN_OUTPUT"])
def test_a_plan_format_in_the_environment_does_not_break_validate(tmp_path: Path, var: str) -> None:
    """A markdown plan format set for CI leaves validate's own output alone."""
    (tmp_path / "ann.yaml").write_text(CONTACT)
    result = run("validate", str(tmp_path), env={var: "markdown"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("valid: 1 contact")
