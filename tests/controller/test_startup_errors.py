"""A start that cannot happen says why, naming the real cause."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from reconciler.controller.accounts import DriftPolicy, single_account
from reconciler.controller.runner import RunSettings, run_controller
from reconciler.statedir import StateDir

GENEROUS = 60.0


async def test_an_unwritable_state_directory_is_named_as_such(
    tmp_path: Path, emulator_server: Any
) -> None:
    """When the journal's directory cannot be created (here a file stands in its way, which
    even root cannot write through), the controller exits 1 saying the state directory is the
    problem and where it is, not that it cannot serve probes."""
    blocker = tmp_path / "state"
    blocker.write_text("a file where a directory should be\n")
    config = single_account([tmp_path], owner="ops", drift_policy=DriftPolicy.CORRECT)
    run = RunSettings(
        target=emulator_server.url,
        token="user:alice@example.com",
        state_dir=StateDir.at(blocker),
        health_addr="127.0.0.1:0",
        metrics_addr="127.0.0.1:0",
    )
    with capture_logs() as logs:
        assert await asyncio.wait_for(run_controller(config, run), GENEROUS) == 1
    errors = [e for e in logs if e["log_level"] == "error"]
    assert [e["event"] for e in errors] == ["cannot write the state directory"]
    assert str(blocker) in errors[0]["error"]
