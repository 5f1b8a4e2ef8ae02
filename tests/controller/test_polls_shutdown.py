"""A stopping controller lets a poll in flight finish instead of cutting the request short.

A poll is one read the server counts when it arrives; cancelled mid-request, its answer is lost
and the server records a client gone (the emulator counts a 499). The controller runs in
process against the emulator over HTTP, wrapped so that the first poll (a listing with a sync
token) is held at the server; SIGTERM's stand-in is set while it is held.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from reconciler.controller.account import Intervals
from reconciler.controller.accounts import DriftPolicy, single_account
from reconciler.controller.runner import RunSettings, run_controller
from reconciler.statedir import StateDir
from tests.support.eventually import LIMIT, eventually_async
from tests.support.held_calls import HeldCall, statuses
from tests.support.manifests import contact_yaml


async def test_a_poll_in_flight_at_shutdown_is_let_finish(
    held_server: tuple[HeldCall, str], tmp_path: Path
) -> None:
    """A poll held at the server when the controller is told to stop is answered, not
    abandoned: the emulator counts no 499, and the controller exits 0 once it is answered."""
    gate, url = held_server
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "c.yaml").write_text(contact_yaml("alice-friend", "Alice"))
    config = single_account([manifests], owner="ops", drift_policy=DriftPolicy.CORRECT)
    run = RunSettings(
        target=url,
        token="user:alice@example.com",
        state_dir=StateDir.at(tmp_path / "state"),
        intervals=Intervals(poll=0.3, resync=3600, debounce=0.2),
        health_addr="0",
        metrics_addr="0",
    )
    gate.arm("GET", "/connections", param="syncToken")  # the first poll, not a pass's listing
    stop = asyncio.Event()
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(run_controller(config, run, stop=stop))
        await asyncio.to_thread(gate.arrived.wait, LIMIT)
        assert gate.arrived.is_set(), "no poll was sent"
        stop.set()

        def stopping() -> bool:  # the account gave up on the poll, or waits for it
            return gate.client_left.is_set() or any(e["event"] == "poll let finish" for e in logs)

        await eventually_async(stopping, "the stopping account to end its poll")
        gate.opened.set()
        assert await asyncio.wait_for(task, LIMIT) == 0
    await asyncio.to_thread(gate.answered.wait, LIMIT)
    assert not gate.client_left.is_set(), "the controller gave up on the poll"
    assert "499" not in await statuses(url), "the poll was cut short"
