"""``--subject`` and ``--credentials`` reach the People client from every command that connects.

With a service-account key and domain-wide delegation, ``--target google`` needs both: plan,
apply, export and run take them (or ``RECONCILER_SUBJECT``/``RECONCILER_CREDENTIALS``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import reconciler.people
from reconciler.cli.apply import apply
from reconciler.cli.export import export
from reconciler.cli.plan import plan
from reconciler.cli.run import run

COMMANDS = {"plan": plan, "apply": apply, "export": export, "run": run}
CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
    "spec:\n  names: [{givenName: Ann}]\n"
)


class Connected(Exception):
    """Raised by the stand-in ``connect`` once it has seen its arguments."""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_lists_subject_and_credentials(name: str) -> None:
    """Every command that connects documents both flags and their environment variables."""
    result = CliRunner().invoke(COMMANDS[name], ["--help"])
    assert result.exit_code == 0, result.output
    for text in ("--subject", "--credentials", "RECONCILER_SUBJECT", "RECONCILER_CREDENTIALS"):
        assert text in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_environment_sets_subject_and_credentials(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``RECONCILER_SUBJECT`` and ``RECONCILER_CREDENTIALS`` fill the flags of every command."""
    monkeypatch.setenv("RECONCILER_SUBJECT", "alice@example.com")
    monkeypatch.setenv("RECONCILER_CREDENTIALS", "key.json")
    ctx = COMMANDS[name].make_context(name, [])
    assert ctx.params["subject"] == "alice@example.com"
    assert ctx.params["credentials"] == "key.json"


@pytest.mark.parametrize("name", ["plan", "apply", "export"])
def test_subject_and_credentials_are_passed_to_connect(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the flags say is what ``connect`` is called with (subject from the environment)."""
    seen: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def connect(target: str = "embedded", **kwargs: Any) -> AsyncIterator[Any]:
        seen.update(kwargs, target=target)
        raise Connected
        yield  # pragma: no cover

    monkeypatch.setattr(reconciler.people, "connect", connect, raising=False)
    (tmp_path / "ann.yaml").write_text(CONTACT)
    args = ["--target", "google", "--credentials", "sa.json", "--state", str(tmp_path / "s.db")]
    if name == "export":
        args += ["--out", str(tmp_path / "out")]
    else:
        args += [str(tmp_path / "ann.yaml")] + (["--auto-approve"] if name == "apply" else [])
    result = CliRunner().invoke(
        COMMANDS[name], args, env={"RECONCILER_SUBJECT": "alice@example.com"}
    )
    assert isinstance(result.exception, Connected), result.output
    assert seen["target"] == "google"
    assert seen["subject"] == "alice@example.com"
    assert seen["credentials"] == "sa.json"


def test_run_subject_names_the_single_account() -> None:
    """Without an accounts file, ``run --subject`` is the one account to reconcile."""
    result = CliRunner().invoke(
        run, ["--config", "accounts.yaml", "--subject", "a@example.com", "--health-addr", "0"]
    )
    assert result.exit_code == 1
    assert "--subject is for a single account" in result.output
