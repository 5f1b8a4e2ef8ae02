"""What drift detection costs an account: no listing of its own before the first pass, none on
top of a pass's own listing, none while passes wait for a slot (up to the bound).

The real worker, backend and poller over the in-process emulator, whose ``/__emulator/stats``
counts every listing; the controller's clock is moved by hand, so a poll is due exactly when the
test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.controller.account import FULL, AccountWorker, Intervals, Trigger
from reconciler.controller.slots import PassSlots
from reconciler.emulator import create_app
from tests.support.eventually import eventually_async
from tests.support.workers import open_worker

POLL = 30.0
RESYNC = 600.0
LISTING = "people.people.connections.list"
ASLEEP = 2  # clock sleeps of an idle worker: its resync timer and its polls' schedule

Start = Callable[[str, PassSlots], Awaitable[AccountWorker]]


@pytest.fixture
def app() -> Any:
    return create_app()


async def stats(app: Any) -> dict[str, int]:
    """Requests by method, as the emulator counted them."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as admin:
        answer = await admin.get("/__emulator/stats")
        answer.raise_for_status()
        return dict(answer.json()["by_method"])


async def listings(app: Any) -> int:
    return (await stats(app)).get(LISTING, 0)


@pytest.fixture
async def start(clock: Any, tmp_path: Path, app: Any) -> AsyncIterator[Start]:
    """Starts the worker of one user (one contact to create), on the test's clock."""
    tasks: list[tuple[AccountWorker, asyncio.Task[None]]] = []
    intervals = Intervals(poll=POLL, resync=RESYNC, debounce=0.1, jitter=0.0)
    async with AsyncExitStack() as stack:

        async def launch(user: str, slots: PassSlots) -> AccountWorker:
            worker = await open_worker(
                stack, app, user, tmp_path, clock=clock, intervals=intervals, slots=slots
            )
            tasks.append((worker, asyncio.create_task(worker.run())))
            return worker

        try:
            yield launch
        finally:
            for worker, task in tasks:
                worker.shut_down()
                task.cancel()
            await asyncio.gather(*(task for _, task in tasks), return_exceptions=True)


def sample(worker: AccountWorker, metric: str, **labels: str) -> float:
    value = worker.metrics.registry.get_sample_value(metric, {"account": worker.label, **labels})
    return value or 0.0


def passes(worker: AccountWorker) -> float:
    return sample(worker, "reconciler_reconcile_total", result="success")


async def test_the_first_pass_listing_gives_the_poller_its_token(start: Start, app: Any) -> None:
    """No listing of the poller's own: the first pass's listing takes the sync token (so a
    change made after that read is the first poll's), and the start costs one listing."""
    worker = await start("a@example.com", PassSlots(1))
    await eventually_async(lambda: passes(worker) == 1, "the start pass")
    assert worker.poller is not None
    assert worker.poller.token is not None
    assert await listings(app) == 1


async def test_a_pass_listing_counts_as_a_poll(start: Start, app: Any, clock: Any) -> None:
    """An account fully listed by a pass 20 s after its first is not polled 30 s after the
    first, but 30 s after that pass."""
    worker = await start("a@example.com", PassSlots(1))
    await eventually_async(lambda: passes(worker) == 1, "the start pass")
    await eventually_async(lambda: clock.sleeping == ASLEEP, "the worker's loops asleep")
    clock.advance(20)
    worker.enqueue(FULL, Trigger.RESYNC)
    await eventually_async(lambda: passes(worker) == 2, "the resync pass")
    before = await listings(app)
    clock.advance(10)  # 30 s after the first pass
    await eventually_async(lambda: clock.sleeping == ASLEEP, "the worker's loops asleep again")
    assert await listings(app) == before
    assert sample(worker, "reconciler_polls_total", result="ok") == 0
    clock.advance(20)  # 30 s after the resync pass
    await eventually_async(
        lambda: sample(worker, "reconciler_polls_total", result="ok") == 1, "the poll"
    )
    assert await listings(app) == before + 1


async def test_no_poll_is_sent_while_passes_wait_for_a_slot(
    start: Start, app: Any, clock: Any
) -> None:
    """While another account's first pass waits for the replica's only slot, a converged
    account's due polls are deferred: nothing is listed for five intervals. Once its last
    listing is a resync interval old it is polled anyway (no starvation), and when no pass waits
    any more, polls come every interval again."""
    slots = PassSlots(1)
    first = await start("a@example.com", slots)
    await eventually_async(lambda: passes(first) == 1, "the first account's start pass")
    release, held = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with slots.hold():
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    second = await start("b@example.com", slots)
    await eventually_async(lambda: slots.waiting == 1, "the second account's pass waiting")
    await clock.run_ready()
    before = await listings(app)
    for _ in range(5):
        clock.advance(POLL)
        await clock.run_ready()
    assert await listings(app) == before
    assert sample(first, "reconciler_polls_total", result="ok") == 0

    clock.advance(RESYNC - 5 * POLL)  # the first account's last listing is RESYNC old
    await eventually_async(
        lambda: sample(first, "reconciler_polls_total", result="ok") == 1, "the bounded poll"
    )
    assert await listings(app) == before + 1
    assert first.polls.deferred_total >= 1

    release.set()
    await holder
    # (its resync, due when the first account's was, may have run after it too)
    await eventually_async(lambda: passes(second) >= 1, "the second account's start pass")
    await eventually_async(lambda: slots.waiting == 0, "no pass waiting")
    polled = sample(first, "reconciler_polls_total", result="ok")
    clock.advance(POLL)
    await eventually_async(
        lambda: sample(first, "reconciler_polls_total", result="ok") > polled, "a poll again"
    )
