"""One owner for retries under the controller: a pass spends a bounded number of requests, and
the work queue, not the pass, tries again, backing off exponentially up to its cap.

The real apply engine runs against the in-process emulator; the worker's queue runs on a clock
the test moves by hand, so minutes of backoff pass without a single sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler.apply.engine import ApplySettings, Steering
from reconciler.apply.journal import CreateJournal
from reconciler.apply.results import ApplyResult
from reconciler.clock import ManualClock
from reconciler.controller.account import AccountWorker, Intervals
from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore
from reconciler.controller.health import Health
from reconciler.controller.metrics import Metrics
from reconciler.controller.runner import CONTROLLER_RETRIES
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.model import DesiredState
from reconciler.people import connect
from reconciler.people.retry import RetryPolicy
from reconciler.plan.model import Plan
from reconciler.plan.options import PlanOptions
from tests.support.eventually import eventually_async
from tests.support.manifests import book

USER = "alice@example.com"


@dataclass
class Counted(ApplyBackend):
    """The real backend, noting when each pass started (queue clock) and what it cost."""

    clock: Any = None
    app: Any = None
    started: list[float] = field(default_factory=list)
    spent: list[int] = field(default_factory=list)

    def total(self) -> int:
        return int(self.app.state.emulator.stats.snapshot()["total"])

    async def apply(
        self,
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        steering: Steering | None = None,
    ) -> ApplyResult:
        self.started.append(self.clock.now())
        before = self.total()
        try:
            return await super().apply(desired, suspended, scope, on_plan, steering)
        finally:
            self.spent.append(self.total() - before)


@pytest.fixture
async def emulator() -> AsyncIterator[tuple[Any, Any]]:
    api_clock = ManualClock(start=1_000.0)
    app = create_app(EmulatorConfig(seed=11), clock=api_clock)
    async with connect("embedded", app=app, token=f"user:{USER}", clock=api_clock) as client:
        yield app, client


async def test_every_write_failing_backs_off_exponentially_to_the_cap(
    emulator: tuple[Any, Any], clock: Any, tmp_path: Path
) -> None:
    """Every request failing from the first write on: each pass costs at most the transport's
    attempts (besides its listing), and the keys come back after 1, 2, 4, 8, 8 s (cap 8): no
    retry layer sits between the transport and the queue."""
    app, client = emulator
    desired = book(3)
    with CreateJournal(tmp_path / "journal.jsonl") as journal:
        settings = ApplySettings(plan=PlanOptions(owner="o"), executor=CONTROLLER_RETRIES)
        backend = Counted(client, journal, settings, clock=clock, app=app)
        assert (await backend.apply(desired)).converged
        changed = book(3, title="Lead")
        loaded = SimpleNamespace(contacts=changed.contacts, groups=[], errors=[], ok=True)
        original = client.list_groups

        async def list_groups_then_fail(*args: Any, **kwargs: Any) -> Any:
            groups = await original(*args, **kwargs)
            app.state.emulator.configure({"error_rate": 1.0})  # from the first write on
            return groups

        client.list_groups = list_groups_then_fail  # type: ignore[method-assign]
        account = Account(USER, (Path("m"),), "o", suspend=False, drift_policy=DriftPolicy.CORRECT)
        worker = AccountWorker(
            account,
            backend,
            poller=None,
            store=DesiredStore(account.manifests, loader=lambda paths: loaded),
            metrics=Metrics(),
            health=Health(clock=clock),
            intervals=Intervals(poll=5, resync=3600, debounce=0.1, backoff_cap=8.0),
            clock=clock,
        )
        backend.started.clear()
        backend.spent.clear()
        task = asyncio.create_task(worker.run())
        try:
            await wait_for_passes(backend, clock, 1)
            for gap in (1.0, 2.0, 4.0, 8.0, 8.0):
                passes = len(backend.started)
                # The clock moves only once the worker waits on it for the retry: moved
                # earlier, the test would measure when the worker fell asleep, not its backoff.
                await eventually_async(lambda: waiting(worker, clock), "the worker to wait")
                clock.advance(gap - 0.01)
                assert waiting(worker, clock), f"woke before {gap} s"  # advance wakes at once
                await clock.run_ready(50)
                assert len(backend.started) == passes, f"came back before {gap} s"
                clock.advance(0.01)
                await wait_for_passes(backend, clock, passes + 1)
        finally:
            worker.shut_down()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    gaps = [round(b - a, 2) for a, b in zip(backend.started, backend.started[1:], strict=False)]
    assert gaps == [1.0, 2.0, 4.0, 8.0, 8.0]
    # The first pass lists people and groups (2 requests) and sends the one batch with the
    # transport's attempts; the later ones fail at the listing after the same attempts.
    attempts = RetryPolicy().max_attempts
    assert backend.spent[0] <= 2 + attempts, backend.spent
    assert max(backend.spent[1:]) <= attempts, backend.spent
    assert attempts <= 4


def waiting(worker: AccountWorker, clock: Any) -> bool:
    """The worker waits on its clock for its one retry: nothing in hand or ready, the key
    delayed, and two sleeps pending (the queue's and the resync timer's)."""
    queue = worker.queue
    return not queue.processing and not len(queue) and queue.delayed == 1 and clock.sleeping == 2


async def wait_for_passes(backend: Counted, clock: Any, n: int) -> None:
    """Wait until ``n`` passes have finished (no time passes on the queue's clock)."""

    async def finished() -> bool:
        return len(backend.spent) >= n

    await eventually_async(finished, f"{n} passes")
