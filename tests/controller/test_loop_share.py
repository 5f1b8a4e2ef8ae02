"""The event loop shares the GIL with as few threads as possible, and gets it back quickly.

``/healthz`` is served by the controller's event loop. Every thread that runs Python beside it
takes turns at the GIL with it: with a thread per account reloading its manifests, the loop
waited behind all of them whenever accounts started together. CPU work queues in the one
planner thread instead, and the controller lowers the interpreter's switch interval while it
runs, so that the loop waits at most that long for the GIL whenever a thread holds it, and
raises the garbage collector's thresholds, whose full collections held the GIL longest.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import reconciler.cli.run as run_command
import reconciler.controller.runner as runner
from reconciler.collector import GC_THRESHOLDS, LOOP_SWITCH_INTERVAL
from reconciler.controller.account import AccountWorker
from reconciler.controller.accounts import Account, DriftPolicy, single_account
from reconciler.controller.desired import DesiredStore
from reconciler.controller.health import Health
from reconciler.controller.metrics import Metrics
from reconciler.people.targets import open_replica
from reconciler.statedir import StateDir


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


async def test_the_controller_runs_with_a_short_switch_interval_and_rare_collections(
    monkeypatch: Any,
) -> None:
    """While ``reconciler run`` runs its controller, a thread holding the GIL hands it to the
    waiting loop within LOOP_SWITCH_INTERVAL (Python's default, 5 ms, is paid at each of the
    loop's waits while the planner works), and the garbage collector runs with GC_THRESHOLDS
    and the start-up's objects frozen (with Python's defaults a converging replica walked its
    whole heap every second or so, holding the GIL for up to 0.7 s). All is restored after."""
    seen: list[tuple[float, tuple[int, ...], bool]] = []

    async def controller(*args: object, **kwargs: object) -> int:
        seen.append((sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count() > 0))
        return 0

    monkeypatch.setattr(runner, "run_controller", controller)
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    assert interval > LOOP_SWITCH_INTERVAL
    assert await run_command._run(None, None, None) == 0
    assert seen == [(LOOP_SWITCH_INTERVAL, GC_THRESHOLDS, True)]
    assert (sys.getswitchinterval(), gc.get_threshold()) == (interval, thresholds)
    assert gc.get_freeze_count() == 0


async def test_the_http_stack_is_loaded_before_the_probes_are_served(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The People client's modules (httpx and the replica's pool) are imported before the
    probe server starts, not on the loop that already answers ``/healthz`` (~100 ms)."""
    loaded_when_serving: list[bool] = []

    @contextlib.asynccontextmanager
    async def serving(*args: object) -> AsyncIterator[None]:
        loaded_when_serving.append("reconciler.people.targets" in sys.modules)
        raise runner.CannotServe("stop here")
        yield  # pragma: no cover

    monkeypatch.setattr(runner, "_serving", serving)
    monkeypatch.delitem(sys.modules, "reconciler.people.targets")  # imported afresh
    config = single_account([tmp_path], owner="ops", drift_policy=DriftPolicy.CORRECT)
    settings = runner.RunSettings(target="http://127.0.0.1:9", state_dir=StateDir.at(tmp_path))
    assert await runner.run_controller(config, settings) == 1
    assert loaded_when_serving == [True]


async def test_a_replica_builds_its_tls_context_off_the_loop() -> None:
    """Opening a replica over HTTP builds the transport (its TLS context loads the CA
    bundle, tens of milliseconds) in a worker thread, not on the event loop."""
    built_on: list[int] = []
    real = httpx.AsyncHTTPTransport

    def transport(*args: Any, **kwargs: Any) -> httpx.AsyncHTTPTransport:
        built_on.append(threading.get_ident())
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx, "AsyncHTTPTransport", transport)
        async with open_replica("http://127.0.0.1:9"):
            pass
    assert len(built_on) == 1
    assert built_on[0] != threading.get_ident()
