"""The work queue: deduplication, in-flight exclusion, delays, backoff, batches, shutdown."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.queue import ExponentialBackoff, WorkQueue
from tests.support.eventually import LIMIT, eventually_async


def make_queue(clock: Any, **kwargs: Any) -> WorkQueue[str]:
    return WorkQueue(clock=clock, **kwargs)


async def test_a_key_added_twice_is_handed_out_once(clock: Any) -> None:
    """Adding a key that is already queued does nothing."""
    queue = make_queue(clock)
    queue.add("a")
    queue.add("a")
    assert len(queue) == 1
    assert await queue.get_batch() == ["a"]
    assert len(queue) == 0


async def test_get_batch_takes_every_ready_key_in_arrival_order(clock: Any) -> None:
    """One worker drains all ready keys into one pass, oldest first."""
    queue = make_queue(clock)
    queue.add_many(["c", "a", "b", "a"])
    assert await queue.get_batch() == ["c", "a", "b"]


async def test_get_batch_respects_max_items(clock: Any) -> None:
    """A bounded batch leaves the rest ready for the next one."""
    queue = make_queue(clock)
    queue.add_many(["a", "b", "c"])
    assert await queue.get_batch(2) == ["a", "b"]
    assert await queue.get_batch(2) == ["c"]


async def test_a_key_in_flight_is_not_handed_out_again(clock: Any) -> None:
    """A key added while a worker holds it waits until that worker is done."""
    queue = make_queue(clock)
    queue.add("a")
    assert await queue.get_batch() == ["a"]
    queue.add("a")
    queue.add("b")
    assert await queue.get_batch() == ["b"]
    assert len(queue) == 0
    assert queue.processing == {"a", "b"}


async def test_a_key_added_while_in_flight_runs_again_after_done(clock: Any) -> None:
    """The add made during processing is not lost: the key is ready again after done()."""
    queue = make_queue(clock)
    queue.add("a")
    batch = await queue.get_batch()
    queue.add("a")
    queue.add("a")
    queue.done(batch)
    assert len(queue) == 1
    assert await queue.get_batch() == ["a"]


async def test_done_without_a_new_add_does_not_requeue(clock: Any) -> None:
    """A key finished with no add meanwhile leaves the queue."""
    queue = make_queue(clock)
    queue.add("a")
    queue.done(await queue.get_batch())
    assert len(queue) == 0
    assert queue.processing == frozenset()


async def test_a_waiting_worker_wakes_on_add(clock: Any) -> None:
    """get_batch blocks on an empty queue and returns as soon as something is added."""
    queue = make_queue(clock)
    getter = asyncio.create_task(queue.get_batch())
    await clock.run_ready()
    assert not getter.done()
    queue.add("a")
    assert await asyncio.wait_for(getter, LIMIT) == ["a"]


async def test_a_delayed_add_becomes_ready_when_its_time_comes(clock: Any) -> None:
    """add_after holds the key back until the clock passes its due time."""
    queue = make_queue(clock)
    queue.add_after("a", 10)
    assert len(queue) == 0
    assert queue.delayed == 1
    getter = asyncio.create_task(queue.get_batch())
    clock.advance(9)
    await clock.run_ready()
    assert not getter.done()
    clock.advance(1)
    assert await asyncio.wait_for(getter, LIMIT) == ["a"]
    assert queue.delayed == 0


async def test_a_non_positive_delay_adds_at_once(clock: Any) -> None:
    """add_after with no delay is a plain add."""
    queue = make_queue(clock)
    queue.add_after("a", 0)
    assert len(queue) == 1


async def test_an_earlier_delayed_add_wins(clock: Any) -> None:
    """A later add_after does not postpone a pending earlier one; an earlier one advances it."""
    queue = make_queue(clock)
    queue.add_after("a", 5)
    queue.add_after("a", 50)
    clock.advance(5)
    assert await asyncio.wait_for(queue.get_batch(), LIMIT) == ["a"]
    queue.done(["a"])
    queue.add_after("b", 50)
    queue.add_after("b", 2)
    clock.advance(2)
    assert await asyncio.wait_for(queue.get_batch(), LIMIT) == ["b"]
    clock.advance(100)
    await clock.run_ready()
    assert len(queue) == 0


async def test_a_waiting_worker_recomputes_its_sleep_on_an_earlier_delay(clock: Any) -> None:
    """A getter asleep until a far due time notices a nearer one added meanwhile."""
    queue = make_queue(clock)
    queue.add_after("far", 100)
    getter = asyncio.create_task(queue.get_batch())
    await clock.run_ready()
    queue.add_after("near", 1)
    await clock.run_ready()
    clock.advance(1)
    assert await asyncio.wait_for(getter, LIMIT) == ["near"]


async def test_time_passing_before_the_getter_falls_asleep_does_not_postpone_a_key(
    clock: Any,
) -> None:
    """The getter sleeps until the key's due time, not for an interval measured before its
    sleep began: time that passes in the loop turn between (here a test moving the clock; in
    production other accounts' work) does not push the key back by that much."""
    queue = make_queue(clock)
    queue.add_after("a", 1.0)
    getter = asyncio.create_task(queue.get_batch())
    await asyncio.sleep(0)  # the getter runs up to its wait; its clock sleep starts next turn
    assert not getter.done()
    clock.advance(0.5)
    await eventually_async(lambda: clock.sleeping == 1, "the getter asleep on the clock")
    clock.advance(0.5)
    assert await asyncio.wait_for(getter, LIMIT) == ["a"]


async def test_a_delayed_key_already_queued_is_not_duplicated(clock: Any) -> None:
    """When a delayed add comes due for a key already queued, it is still queued once."""
    queue = make_queue(clock)
    queue.add_after("a", 1)
    queue.add("a")
    clock.advance(1)
    assert await queue.get_batch() == ["a"]
    assert len(queue) == 0


async def test_rate_limited_adds_back_off_exponentially_and_reset_on_forget(clock: Any) -> None:
    """Each failure doubles the wait from the floor; forget() starts again from the floor."""
    queue = make_queue(clock, limiter=ExponentialBackoff(base=1.0, cap=8.0))
    delays = [queue.add_rate_limited("a") for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert queue.num_requeues("a") == 6
    queue.forget("a")
    assert queue.num_requeues("a") == 0
    assert queue.add_rate_limited("a") == 1.0


async def test_backoff_is_per_key(clock: Any) -> None:
    """One key's failures do not slow another key down."""
    queue = make_queue(clock)
    queue.add_rate_limited("a")
    queue.add_rate_limited("a")
    assert queue.add_rate_limited("b") == 1.0


def test_backoff_rejects_nonsense_settings() -> None:
    """A floor of zero or a cap below the floor is refused with the value named."""
    with pytest.raises(ValueError, match='"base" must be greater than 0: 0'):
        ExponentialBackoff(base=0)
    with pytest.raises(ValueError, match='"cap" must be at least'):
        ExponentialBackoff(base=2, cap=1)


@settings(max_examples=50, deadline=None)
@given(base=st.floats(0.01, 10), cap=st.floats(10, 1000), failures=st.integers(1, 200))
def test_backoff_never_shrinks_and_never_exceeds_the_cap(
    base: float, cap: float, failures: int
) -> None:
    """Successive delays are non-decreasing, start at the floor and stay within the cap."""
    limiter: ExponentialBackoff[str] = ExponentialBackoff(base=base, cap=cap)
    delays = [limiter.when("k") for _ in range(failures)]
    assert delays[0] == base
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert max(delays) <= cap


async def test_shut_down_wakes_waiting_workers_with_no_work(clock: Any) -> None:
    """Workers blocked in get_batch return an empty batch when the queue shuts down."""
    queue = make_queue(clock)
    getter = asyncio.create_task(queue.get_batch())
    await clock.run_ready()
    queue.shut_down()
    assert await asyncio.wait_for(getter, LIMIT) == []


async def test_shut_down_stops_handing_out_and_taking_work(clock: Any) -> None:
    """After shutdown, ready keys are not handed out and new adds are ignored."""
    queue = make_queue(clock)
    queue.add("a")
    queue.shut_down()
    queue.add("b")
    queue.add_after("c", 1)
    assert queue.shutting_down
    assert await queue.get_batch() == []
    assert await queue.get() is None
    assert queue.delayed == 0


async def test_wait_idle_returns_when_the_in_flight_batch_is_done(clock: Any) -> None:
    """Shutdown can wait for the batch in flight to finish."""
    queue = make_queue(clock)
    queue.add_many(["a", "b"])
    batch = await queue.get_batch()
    queue.shut_down()
    waiter = asyncio.create_task(queue.wait_idle())
    await clock.run_ready()
    assert not waiter.done()
    queue.done(batch)
    await asyncio.wait_for(waiter, LIMIT)


async def test_cancelling_a_waiting_worker_leaves_the_queue_usable(clock: Any) -> None:
    """A cancelled get_batch takes nothing, and the next getter still gets the key."""
    queue = make_queue(clock)
    getter = asyncio.create_task(queue.get_batch())
    await clock.run_ready()
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    queue.add("a")
    assert await queue.get_batch() == ["a"]


@settings(max_examples=60, deadline=None)
@given(
    operations=st.lists(
        st.tuples(st.sampled_from(["add", "take", "done"]), st.sampled_from("abcd")),
        max_size=40,
    )
)
def test_random_histories_keep_the_invariants(operations: list[tuple[str, str]]) -> None:
    """Under any mix of adds, takes and dones: no key is handed out while in flight, none is
    queued twice, and every key added is eventually handed out after its last add."""

    async def run() -> None:
        queue: WorkQueue[str] = WorkQueue()
        in_flight: set[str] = set()
        owed: set[str] = set()  # keys added since they were last handed out
        for operation, key in operations:
            if operation == "add":
                queue.add(key)
                owed.add(key)
            elif operation == "take" and len(queue):
                batch = await queue.get_batch()
                assert len(batch) == len(set(batch))
                assert not in_flight & set(batch)
                in_flight |= set(batch)
                owed -= set(batch)
            elif operation == "done" and key in in_flight:
                queue.done([key])
                in_flight.discard(key)
        queue.done(list(in_flight))
        handed: set[str] = set()
        while len(queue):
            batch = await queue.get_batch()
            handed |= set(batch)
            queue.done(batch)
        assert owed <= handed

    asyncio.run(run())
