"""The event loop shares the GIL with as few threads as possible, and gets it back quickly.

``/healthz`` is served by the controller's event loop. Every thread that runs Python beside it
takes turns at the GIL with it: with a thread per account reloading its manifests, the loop
waited behind all of them whenever accounts started together. CPU work queues in the one
planner thread instead, and the controller lowers the interpreter's switch interval while it
runs, so that the loop waits at most that long for the GIL whenever a thread holds it.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import reconciler.cli.run as run_command
import reconciler.controller.runner as runner
from reconciler.controller.account import AccountWorker
from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.desired import DesiredStore
from reconciler.controller.gil import LOOP_SWITCH_INTERVAL
from reconciler.controller.health import Health
from reconciler.controller.metrics import Metrics


class _NoBackend:
    async def apply(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no pass runs in these tests")

    async def plan(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no pass runs in these tests")

    def between_passes(self, next_pass_in: float | None) -> None:
        pass


async def test_a_workers_manifest_reloads_run_in_the_planner_thread(tmp_path: Path) -> None:
    """A worker made without an offload (as the controller makes them) reloads its manifests
    in the planner thread, where plans are made, not in a thread of the loop's default pool
    (one per account reloading at once)."""
    account = Account("a@example.com", (tmp_path,), "o", False, DriftPolicy.CORRECT)
    worker = AccountWorker(
        account,
        _NoBackend(),  # type: ignore[arg-type]
        poller=None,
        store=DesiredStore(account.manifests),
        metrics=Metrics(),
        health=Health(),
    )
    names = {await worker.offload(lambda: threading.current_thread().name) for _ in range(3)}
    assert len(names) == 1
    assert names.pop().startswith("planner")


async def test_the_controller_runs_with_a_short_switch_interval(monkeypatch: Any) -> None:
    """While ``reconciler run`` runs its controller, a thread holding the GIL hands it to the
    waiting loop within LOOP_SWITCH_INTERVAL (Python's default, 5 ms, is paid at each of the
    loop's waits while the planner works); the interpreter's setting is restored after."""
    seen: list[float] = []

    async def controller(*args: object, **kwargs: object) -> int:
        seen.append(sys.getswitchinterval())
        return 0

    monkeypatch.setattr(runner, "run_controller", controller)
    before = sys.getswitchinterval()
    assert before > LOOP_SWITCH_INTERVAL
    assert await run_command._run(None, None, None) == 0
    assert seen == [LOOP_SWITCH_INTERVAL]
    assert sys.getswitchinterval() == before
