"""What a pass leaves behind is kept out of the garbage collector's walks, and a thaw bounds
what that keeps of garbage.

A full collection walks every object the collector tracks, holding the GIL; at 100 accounts x
1,000 contacts that was a million objects (each contact's status and live index record, the
parse cache, other passes' work in flight) and 1-2.6 s without an answer to ``/healthz``. While
the controller runs (``loop_first``), each pass end freezes what is alive, so collections walk
only what was made since; every ``thaw_every`` seconds one full collection over everything
frees the cyclic garbage a freeze held.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from reconciler.clock import ManualClock
from reconciler.controller.account import AccountWorker, Intervals
from reconciler.controller.gil import Collector, loop_first, pass_settled
from reconciler.emulator import create_app
from tests.support.eventually import eventually_async
from tests.support.workers import open_worker

USER = "a@example.com"


def walked(objects: list[object]) -> list[object]:
    """Those of ``objects`` that a collection of any generation would walk."""
    ids = {id(o) for o in gc.get_objects()}
    return [o for o in objects if id(o) in ids]


@pytest.fixture
async def worker(clock: Any, tmp_path: Path) -> AsyncIterator[AccountWorker]:
    async with AsyncExitStack() as stack:
        intervals = Intervals(poll=3600, resync=3600, debounce=0.1)
        worker = await open_worker(
            stack, create_app(), USER, tmp_path, clock=clock, intervals=intervals
        )
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.shut_down()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_an_accounts_state_after_its_pass_is_outside_the_collectors_walks(
    worker: AccountWorker,
) -> None:
    """Inside the controller's regime, once the account's first pass has created its contact,
    the record the live index keeps of it and its contact status are frozen: no collection,
    young or full, walks them."""
    with loop_first():
        index = worker.backend.written  # type: ignore[attr-defined]

        def state() -> list[object]:
            records = list(index._records.values())
            return [*records, *worker.status.contacts.values()] if records else []

        async def frozen() -> bool:
            held = state()
            return bool(held) and not walked(held)

        await eventually_async(frozen, "the pass's state frozen")
    assert gc.get_freeze_count() == 0  # all given back to the collector on the way out


def test_a_thaw_collects_the_cyclic_garbage_a_freeze_held() -> None:
    """A cycle alive at a pass end and dropped later is not collected while frozen; the first
    pass end ``thaw_every`` seconds after the last thaw unfreezes and collects it, and freezes
    what is still alive again."""
    clock = ManualClock()
    collector = Collector(thaw_every=600, clock=clock)

    class Node:
        other: object = None

    cycle, alive = Node(), Node()
    cycle.other = cycle
    dropped = weakref.ref(cycle)
    try:
        collector.settled()
        del cycle
        gc.collect()
        assert dropped() is not None  # frozen: no collection sees it
        clock.advance(599.0)
        collector.settled()
        gc.collect()
        assert dropped() is not None
        assert collector.thaws == 0
        clock.advance(1.0)
        collector.settled()
        assert dropped() is None
        assert collector.thaws == 1
        assert not walked([alive])  # frozen again after the thaw
    finally:
        gc.unfreeze()


def test_outside_the_controller_a_pass_end_freezes_nothing() -> None:
    """One-shot commands and library use keep Python's collector as it is."""
    gc.unfreeze()
    pass_settled()
    assert gc.get_freeze_count() == 0
