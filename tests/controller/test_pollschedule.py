"""The replica's poll schedule: its interval stays within the polls' share of the read budget,
polls go out one at a time, and they give way to passes waiting for a slot, but never for longer
than the stated bound.

Accounts are stand-ins that record when they were polled and how long after their last listing;
the schedule runs on the project's ManualClock, whose sleeps move time on at once, so hours of
polls pass in milliseconds and every recorded time is exact.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from reconciler.clock import ManualClock
from reconciler.controller.metrics import Metrics
from reconciler.controller.pollschedule import POLL_SHARE, PollSchedule, poll_interval
from reconciler.controller.slots import PassSlots
from tests.support.eventually import LIMIT, eventually_async
from tests.support.leases import Ticks

INTERVAL = 30.0
MAX_WAIT = 600.0


class Account:
    """Listed at creation; each poll is recorded as (time, seconds since the last listing);
    ``asked`` counts the schedule's questions about its last listing."""

    def __init__(self, label: str, clock: ManualClock) -> None:
        self.label = label
        self.clock = clock
        self.at: float | None = clock.now()
        self.polls: list[tuple[float, float]] = []
        self.asked = 0

    def listed_ago(self) -> float | None:
        self.asked += 1
        return None if self.at is None else self.clock.now() - self.at

    async def poll(self) -> None:
        now = self.clock.now()
        assert self.at is not None
        self.polls.append((now, now - self.at))
        self.at = now


class PassWaiting:
    """A pass holding the only slot and another waiting for it, until :meth:`release`."""

    def __init__(self) -> None:
        self.slots = PassSlots(1)
        self._release = asyncio.Event()
        self._passes: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        async def hold() -> None:
            async with self.slots.hold():
                await self._release.wait()

        self._passes = [asyncio.create_task(hold()), asyncio.create_task(hold())]
        await eventually_async(lambda: self.slots.waiting == 1, "a pass waiting for the slot")

    async def release(self) -> None:
        self._release.set()
        await asyncio.gather(*self._passes)


@pytest.fixture
async def waiting() -> AsyncIterator[PassWaiting]:
    passes = PassWaiting()
    await passes.start()
    yield passes
    await passes.release()


@pytest.fixture
def manual() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def running() -> AsyncIterator[Callable[[PollSchedule], None]]:
    tasks: list[asyncio.Task[None]] = []

    def run(schedule: PollSchedule) -> None:
        tasks.append(asyncio.create_task(schedule.run()))

    yield run
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_the_interval_keeps_the_polls_within_their_share_of_the_read_budget() -> None:
    """interval = max(--poll-interval, accounts / (share x project reads a minute) minutes)."""
    assert POLL_SHARE == 0.1
    assert poll_interval(30.0, 100, 3000.0) == 30.0  # 100 polls in 20 s would do: 30 s stays
    assert poll_interval(30.0, 1000, 3000.0) == 200.0  # 300 reads a minute: 10% of 3,000
    assert poll_interval(30.0, 10_000, 3000.0, share=0.2) == 1000.0
    assert poll_interval(30.0, 1000, None) == 30.0  # no project budget: the flag alone
    assert poll_interval(30.0, 0, 3000.0) == 30.0


async def test_the_schedule_reports_the_interval_for_the_accounts_it_polls(
    manual: ManualClock,
) -> None:
    """The interval in force follows the number of accounts, in /status and the metrics."""
    metrics = Metrics()
    schedule = PollSchedule(
        INTERVAL, max_wait=MAX_WAIT, reads_per_minute=300.0, clock=manual, metrics=metrics
    )
    accounts = [Account(f"a{i}", manual) for i in range(100)]
    for account in accounts:
        schedule.add(account)
    assert schedule.interval == 200.0  # 100 polls at 10% of 300 reads a minute
    assert metrics.registry.get_sample_value("reconciler_poll_interval_seconds") == 200.0
    for account in accounts[50:]:
        await schedule.remove(account)
    assert schedule.to_json() == {
        "configuredSeconds": INTERVAL,
        "intervalSeconds": 100.0,
        "share": POLL_SHARE,
        "maxWaitSeconds": MAX_WAIT,
        "accounts": 50,
        "deferred": 0,
        "deferredTotal": 0,
    }


async def test_polls_go_one_at_a_time_each_account_once_an_interval(
    manual: ManualClock, running: Any
) -> None:
    """Four accounts listed together are polled interval / 4 apart, never in a burst, and each
    exactly once an interval; an account never listed is not polled at all."""
    schedule = PollSchedule(INTERVAL, max_wait=MAX_WAIT, clock=manual)
    accounts = [Account(f"a{i}", manual) for i in range(4)]
    unlisted = Account("new", manual)
    unlisted.at = None
    for account in [*accounts, unlisted]:
        schedule.add(account)
    running(schedule)
    await eventually_async(lambda: all(len(a.polls) >= 5 for a in accounts), "five polls each")
    times = sorted(at for a in accounts for at, _ago in a.polls)
    spacing = INTERVAL / 5  # five accounts registered
    assert all(b - a >= spacing - 1e-6 for a, b in itertools.pairwise(times))
    for account in accounts:
        assert all(INTERVAL <= ago <= INTERVAL + 4 * spacing for _at, ago in account.polls)
    assert unlisted.polls == []


async def test_no_poll_is_sent_while_passes_wait_for_a_slot_but_none_starves(
    manual: ManualClock, running: Any, waiting: PassWaiting
) -> None:
    """While a pass waits for a slot, due polls are deferred (and counted); an account is
    polled anyway once its last listing is ``max_wait`` old, and no later than one interval
    after that; once no pass waits, polls come every interval again."""
    slots = waiting.slots
    metrics = Metrics()
    schedule = PollSchedule(INTERVAL, max_wait=MAX_WAIT, slots=slots, clock=manual, metrics=metrics)
    accounts = [Account(f"a{i}", manual) for i in range(3)]
    for account in accounts:
        schedule.add(account)
    running(schedule)
    await eventually_async(lambda: all(len(a.polls) >= 3 for a in accounts), "forced polls")
    for account in accounts:
        assert all(MAX_WAIT <= ago <= MAX_WAIT + INTERVAL for _at, ago in account.polls)
    deferred = schedule.deferred_total
    assert deferred >= 9  # each account deferred once before each of its three polls
    assert metrics.registry.get_sample_value("reconciler_polls_deferred_total") == deferred

    await waiting.release()
    assert slots.waiting == 0
    seen = {a.label: len(a.polls) for a in accounts}
    await eventually_async(
        lambda: all(len(a.polls) >= seen[a.label] + 3 for a in accounts), "polls resuming"
    )
    for account in accounts:
        after = account.polls[seen[account.label] + 1 :]  # the first one may have been overdue
        assert after
        assert all(ago <= INTERVAL + INTERVAL / 3 for _at, ago in after)
    assert schedule.to_json()["deferred"] == 0


async def test_a_step_asks_only_the_account_it_polls_least_recently_listed_first(
    manual: ManualClock, running: Any
) -> None:
    """With 500 accounts, a poll does not walk them all: an account is asked how long ago it
    listed when it is added and when its own poll ends, never on the others' polls (at most
    one question per account plus one per poll, where a walk asks 500 per poll); the accounts
    are still polled least recently listed first."""
    accounts = [Account(f"a{i:03}", manual) for i in range(500)]
    for age, account in zip(range(1000, 500, -1), accounts, strict=True):
        account.at = manual.now() - age  # a000 listed longest ago
    schedule = PollSchedule(INTERVAL, max_wait=MAX_WAIT, clock=manual)
    for account in accounts:
        schedule.add(account)
    running(schedule)
    await eventually_async(lambda: all(a.polls for a in accounts), "every account polled")
    polls = sum(len(a.polls) for a in accounts)
    asked = sum(a.asked for a in accounts)
    assert asked <= len(accounts) + polls, f"{asked} questions for {polls} polls"
    first = sorted(accounts, key=lambda a: a.polls[0][0])
    assert [a.label for a in first] == [a.label for a in accounts]


async def test_a_pass_listing_starts_the_accounts_interval_again(
    manual: ManualClock, running: Any
) -> None:
    """An account whose pass just listed (the account says so) is polled an interval after
    that listing, not when its earlier listing would have made it due."""
    stale, fresh = Account("stale", manual), Account("fresh", manual)
    stale.at = fresh.at = manual.now() - 100.0
    schedule = PollSchedule(INTERVAL, max_wait=MAX_WAIT, clock=manual)
    schedule.add(stale)
    schedule.add(fresh)
    fresh.at = manual.now()  # a pass's own listing
    schedule.listed(fresh)
    listed = manual.now()
    running(schedule)
    await eventually_async(lambda: stale.polls and fresh.polls, "both polled")
    assert stale.polls[0][1] == 100.0
    assert INTERVAL <= fresh.polls[0][0] - listed <= INTERVAL + INTERVAL / 2


class Held(Account):
    """An account whose poll is a request held until the test lets it through."""

    def __init__(self, label: str, clock: ManualClock) -> None:
        super().__init__(label, clock)
        self.clock.advance(INTERVAL)  # due at once
        self.sent = asyncio.Event()
        self.answer = asyncio.Event()
        self.answered = 0
        self.cancelled = False

    async def poll(self) -> None:
        self.sent.set()
        try:
            await self.answer.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.answered += 1
        await super().poll()


async def removing_in_flight(manual: ManualClock, label: str) -> tuple[Held, asyncio.Task[None]]:
    """An account whose poll is in flight once its schedule stopped, being removed."""
    held = Held(label, manual)
    schedule = PollSchedule(INTERVAL, max_wait=MAX_WAIT, clock=manual)
    schedule.add(held)
    run = asyncio.create_task(schedule.run())
    await asyncio.wait_for(held.sent.wait(), LIMIT)
    schedule.stop()
    await asyncio.wait_for(run, LIMIT)  # the schedule ends; the poll in flight goes on
    removing = asyncio.create_task(schedule.remove(held))
    await eventually_async(lambda: schedule.to_json()["accounts"] == 0, "the removal")
    return held, removing


async def test_a_poll_in_flight_finishes_when_its_account_stops(manual: ManualClock) -> None:
    """A stopped schedule sends no further poll, and removing an account whose poll is in
    flight waits for that poll to finish instead of cutting the request short."""
    held, removing = await removing_in_flight(manual, "held")
    assert not removing.done()
    held.answer.set()
    await asyncio.wait_for(removing, LIMIT)
    assert held.answered == 1
    assert not held.cancelled


async def test_cancelling_the_removal_cancels_the_poll_in_flight(manual: ManualClock) -> None:
    """The shutdown bound still holds: cancelling the removal (the drain's cancel) cancels the
    poll it waits for."""
    held, removing = await removing_in_flight(manual, "cut")
    removing.cancel()
    await asyncio.gather(removing, return_exceptions=True)
    await eventually_async(lambda: held.cancelled, "the poll to be cancelled")
    assert held.answered == 0


async def test_more_accounts_lengthen_the_interval_and_what_was_due_waits_again(
    manual: ManualClock, running: Any, waiting: PassWaiting
) -> None:
    """Deferred polls of accounts that a longer interval (more accounts) makes not due any more
    stop counting as waiting; once due again at the new interval they are deferred (and
    counted) again. Time moves only when the test says (the schedule's sleeps wait for a
    tick)."""
    slots = waiting.slots
    ticks = Ticks(manual)
    # 300 reads a minute at 10%: an interval of 2 s an account, at least 30 s.
    schedule = PollSchedule(INTERVAL, max_wait=MAX_WAIT, reads_per_minute=300.0, slots=slots,
                            clock=ticks)  # fmt: skip
    first = [Account(f"a{i:02}", manual) for i in range(20)]
    for account in first:
        account.at = manual.now() - 45.0
        schedule.add(account)
    assert schedule.interval == 40.0
    running(schedule)
    await eventually_async(lambda: schedule.to_json()["deferred"] == 20, "20 polls deferred")
    for i in range(10):
        schedule.add(Account(f"b{i:02}", manual))
    assert schedule.interval == 60.0
    await eventually_async(lambda: schedule.to_json()["deferred"] == 0, "none due any more")
    assert schedule.deferred_total == 20
    manual.advance(15.0)
    ticks.queue.put_nowait(None)
    await eventually_async(lambda: schedule.to_json()["deferred"] == 20, "due again")
    assert schedule.deferred_total == 40
    assert all(not a.polls for a in first)
