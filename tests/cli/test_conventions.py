"""Command-line conventions that hold across every command.

An environment variable means one thing wherever it is read: a flag whose value means
something different in each command (``--out``, ``--output``, ``--format``) reads a variable
that names its command. As in Terraform, a saved plan is applied without asking again (the
plan was the review), and an apply with nothing to change needs no terminal.
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


def test_applying_a_saved_plan_does_not_ask_again(tmp_path: Path) -> None:
    """Without a terminal and without --auto-approve, 'apply PLANFILE' applies the plan."""
    (tmp_path / "ann.yaml").write_text(CONTACT)
    state = str(tmp_path / "s.db")
    plan_file = str(tmp_path / "plan.json")
    planned = run("plan", "--state", state, "--out", plan_file, str(tmp_path))
    assert planned.exit_code == 0, planned.output
    applied = run("apply", "--state", state, plan_file)
    assert applied.exit_code == 0, applied.output
    again = run("plan", "--state", state, "--detailed-exitcode", str(tmp_path))
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("shaping", [["--selector", "team=sales"], ["--prune"]])
def test_a_saved_plan_with_options_that_shape_a_new_plan_is_refused(
    tmp_path: Path, shaping: list[str]
) -> None:
    """'apply PLANFILE --selector ...' says the option cannot apply, instead of ignoring it."""
    (tmp_path / "ann.yaml").write_text(CONTACT)
    state = str(tmp_path / "s.db")
    plan_file = str(tmp_path / "plan.json")
    planned = run("plan", "--state", state, "--out", plan_file, str(tmp_path))
    assert planned.exit_code == 0, planned.output
    refused = run("apply", "--state", state, *shaping, plan_file)
    assert refused.exit_code == 1, refused.output
    assert shaping[0] in refused.stderr
    assert "saved plan" in refused.stderr
    nothing = run("plan", "--state", state, "--detailed-exitcode", str(tmp_path))
    assert nothing.exit_code == 2, nothing.output  # the contact was not created


def test_apply_with_nothing_to_change_needs_no_terminal(tmp_path: Path) -> None:
    """Converged already: apply exits 0 without a terminal and without --auto-approve."""
    (tmp_path / "ann.yaml").write_text(CONTACT)
    state = str(tmp_path / "s.db")
    first = run("apply", "--auto-approve", "--state", state, str(tmp_path))
    assert first.exit_code == 0, first.output
    again = run("apply", "--state", state, str(tmp_path))
    assert again.exit_code == 0, again.output
    changes = (tmp_path / "bob.yaml").write_text(CONTACT.replace("ann", "bob"))
    assert changes
    refused = run("apply", "--state", state, str(tmp_path))
    assert refused.exit_code == 1  # changes still need a terminal or --auto-approve
    assert "--auto-approve" in refused.stderr
