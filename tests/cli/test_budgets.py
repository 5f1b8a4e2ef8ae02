"""The quota budget flags: per user on ``run`` and ``apply``, per project on ``run``.

A project's owner may raise the People API's per-user and per-project quotas on the Cloud
console; the flags (or their ``RECONCILER_*`` variables) give the client's pacer the same
budgets, and a budget no call could fit in is refused before anything starts.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import reconciler.controller.runner
import reconciler.people
from reconciler.cli.apply import apply
from reconciler.cli.run import run
from reconciler.people.pacing import PacingConfig

CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
    "spec:\n  names: [{givenName: Ann}]\n"
)


class Connected(Exception):
    """Raised by the stand-in ``connect`` once it has seen its arguments."""


def _manifests(tmp_path: Path) -> Path:
    (tmp_path / "ann.yaml").write_text(CONTACT)
    return tmp_path / "ann.yaml"


def test_run_paces_each_account_and_the_replica_to_the_budgets_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run`` hands the controller the per-user budgets of its flags and environment, the
    per-project ones of its flags, and the defaults for the rest."""
    seen: dict[str, Any] = {}

    async def run_controller(config: Any, settings: Any, **_: Any) -> int:
        seen["pacing"] = settings.pacing
        return 0

    monkeypatch.setattr(reconciler.controller.runner, "run_controller", run_controller)
    args = [
        "--state-dir", str(tmp_path / "state"), "--health-addr", "0", "--metrics-addr", "0",
        "--user-writes-per-minute", "600", "--project-reads-per-minute", "12000",
        str(_manifests(tmp_path)),
    ]  # fmt: skip
    result = CliRunner().invoke(run, args, env={"RECONCILER_USER_GROUP_READS_PER_MINUTE": "900"})
    assert result.exit_code == 0, result.output
    assert seen["pacing"] == PacingConfig(
        writes_per_minute=600, group_reads_per_minute=900, project_reads_per_minute=12000
    )


def test_apply_paces_its_account_to_the_per_user_budgets_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``apply`` connects with the per-user budgets of its flags (the defaults for the rest)."""
    seen: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def connect(target: str = "embedded", **kwargs: Any) -> AsyncIterator[Any]:
        seen.update(kwargs)
        raise Connected
        yield  # pragma: no cover

    monkeypatch.setattr(reconciler.people, "connect", connect, raising=False)
    args = [
        "--state-dir", str(tmp_path / "state"), "--auto-approve",
        "--user-reads-per-minute", "300", "--user-group-writes-per-minute", "60",
        str(_manifests(tmp_path)),
    ]  # fmt: skip
    result = CliRunner().invoke(apply, args)
    assert isinstance(result.exception, Connected), result.output
    assert seen["config"].pacing == PacingConfig(reads_per_minute=300, group_writes_per_minute=60)


@pytest.mark.parametrize(
    ("command", "flag", "units"),
    [
        (run, "--user-writes-per-minute", 6),
        (run, "--project-writes-per-minute", 6),
        (run, "--project-group-writes-per-minute", 10),
        (apply, "--user-group-writes-per-minute", 10),
    ],
)
def test_a_budget_below_one_calls_units_is_refused_by_its_flag(
    command: Any, flag: str, units: int, tmp_path: Path
) -> None:
    """A budget smaller than the dearest call it paces (a batch create's 6 write units, a batch
    delete's 10) could never send that call: refused as a usage error naming the flag and the
    least it takes, before anything is read or written."""
    args = ["--state-dir", str(tmp_path / "state"), flag, str(units - 1), str(tmp_path)]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 2, result.output
    assert flag in result.output
    assert f"give at least {units}" in result.output
    assert not (tmp_path / "state").exists()
