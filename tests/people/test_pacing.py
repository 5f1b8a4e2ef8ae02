"""Pacing: per-minute budgets hold in every window, 429s slow the bucket, success restores it."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from reconciler.clock import ManualClock
from reconciler.model.quotas import CRITICAL_READS, CRITICAL_WRITES, GROUP_WRITES, cost_of
from reconciler.people.pacing import Pacer, PacingConfig, TokenBucket
from tests.support.eventually import eventually_async

LISTING = cost_of("people.connections.list")


@pytest.mark.parametrize("per_minute", [1, 4, 90, 180, 1000])
async def test_no_sixty_second_window_exceeds_the_budget(per_minute: int) -> None:
    """Even starting with a full bucket, no sliding minute holds more than per_minute calls."""
    clock = ManualClock()
    start = clock.now()
    bucket = TokenBucket(per_minute, clock=clock)
    window: deque[float] = deque()
    for _ in range(per_minute * 3):
        bucket.answered(await bucket.acquire())
        now = clock.now()
        window.append(now)
        while window[0] <= now - 60.0:
            window.popleft()
        assert len(window) <= per_minute
    # and it is not absurdly slow: three budgets take no more than about four minutes
    assert clock.now() - start <= 4 * 60.0


async def test_a_429_halves_the_rate_and_successes_restore_it() -> None:
    """Multiplicative decrease on 429, additive increase on success, never above nominal."""
    clock = ManualClock()
    bucket = TokenBucket(90, clock=clock)
    nominal = bucket.rate
    bucket.throttle()
    assert bucket.rate == pytest.approx(nominal / 2)
    assert bucket.tokens == 0
    for _ in range(200):
        bucket.succeeded()
    assert bucket.rate == pytest.approx(nominal)


async def test_retry_after_pauses_the_bucket() -> None:
    """After a 429 with Retry-After, the next token is not handed out before that time."""
    clock = ManualClock()
    bucket = TokenBucket(600, clock=clock)
    start = clock.now()
    bucket.throttle(retry_after=30.0)
    bucket.answered(await bucket.acquire())
    assert clock.now() - start >= 30.0


async def test_costs_above_the_minute_are_refused() -> None:
    """A call no minute could carry is refused, named; the bucket's size bounds multipart
    round trips only."""
    bucket = TokenBucket(90, clock=ManualClock())
    assert bucket.max_cost() == 3
    with pytest.raises(ValueError, match="90 units a minute"):
        await bucket.acquire(91)


async def test_one_mutation_per_account_at_a_time() -> None:
    """The per-account mutation lock serialises writers; other accounts are independent."""
    pacer = Pacer(PacingConfig(), clock=ManualClock())
    inside: list[str] = []
    peak = {"alice": 0, "bob": 0}

    async def write(account: str) -> None:
        async with pacer.account(account).mutation:
            inside.append(account)
            peak[account] = max(peak[account], inside.count(account))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside.remove(account)

    await asyncio.gather(*(write(a) for a in ["alice", "bob"] * 5))
    assert peak == {"alice": 1, "bob": 1}
    assert pacer.account("alice") is pacer.account("alice")
    assert pacer.account("alice") is not pacer.account("bob")


async def test_every_account_of_a_pacer_shares_the_project_budget() -> None:
    """Many accounts reading at once never put more than the project's budget in any minute,
    although each account alone is allowed far more."""
    clock = ManualClock()
    config = PacingConfig(reads_per_minute=180, project_reads_per_minute=60)
    pacer = Pacer(config, clock=clock)
    stamps: list[float] = []

    async def reads(account: str) -> None:
        for _ in range(30):
            (await pacer.account(account).acquire(LISTING)).answered()
            stamps.append(clock.now())

    await asyncio.gather(*(reads(f"user{i}@example.com") for i in range(6)))
    assert len(stamps) == 180
    window: deque[float] = deque()
    for stamp in sorted(stamps):
        window.append(stamp)
        while window[0] <= stamp - 60.0:
            window.popleft()
        assert len(window) <= 60


async def test_a_per_project_429_slows_the_project_not_the_account() -> None:
    """A 429 naming a per-project limit halves the shared project bucket (every account feels
    it); one naming a per-user limit halves only that account's bucket."""
    pacer = Pacer(PacingConfig(), clock=ManualClock())
    alice, bob = pacer.account("alice"), pacer.account("bob")
    project, mine = pacer.project[CRITICAL_READS], alice.buckets[CRITICAL_READS]
    project_rate, account_rate = project.rate, mine.rate
    alice.throttle(
        LISTING,
        quota_metric="people.googleapis.com/critical_read_requests",
        quota_limit="CriticalReadsPerMinutePerProject",
        retry_after=None,
    )
    assert bob.project[CRITICAL_READS] is project
    assert project.rate == pytest.approx(project_rate / 2)
    assert mine.rate == account_rate
    alice.throttle(
        LISTING,
        quota_metric="people.googleapis.com/critical_read_requests",
        quota_limit="CriticalReadsPerMinutePerProjectPerUser",
        retry_after=None,
    )
    assert mine.rate == pytest.approx(account_rate / 2)
    assert bob.buckets[CRITICAL_READS].rate == account_rate


def test_no_project_budget_when_turned_off() -> None:
    """``None`` turns the project budget off: accounts draw only on their own buckets."""
    pacer = Pacer(PacingConfig(project_reads_per_minute=None, project_writes_per_minute=None))
    assert CRITICAL_READS not in pacer.project
    assert CRITICAL_WRITES not in pacer.project
    # the account's 90 a minute, holding one batch (6 units), the dearest call it paces
    assert pacer.account("alice").holds(CRITICAL_WRITES) == 6


def test_rates_must_be_positive() -> None:
    """A zero or negative rate is a configuration error, named."""
    with pytest.raises(ValueError, match="writes_per_minute"):
        PacingConfig(writes_per_minute=0)


EPOCH = 1.7e9  # a wall-clock epoch in seconds: floats there resolve only ~2.4e-7 s


class BoundedClock(ManualClock):
    """A ManualClock that fails, rather than hangs, when a waiter keeps sleeping."""

    def __init__(self, start: float, max_sleeps: int) -> None:
        super().__init__(start)
        self.max_sleeps = max_sleeps

    async def sleep(self, seconds: float) -> None:
        assert len(self.sleeps) < self.max_sleeps, "the bucket keeps sleeping"
        await super().sleep(seconds)


@pytest.mark.parametrize("start", [1_000.0, EPOCH])
@pytest.mark.parametrize("per_minute", [4, 90, 180, 1000])
async def test_each_paced_call_sleeps_once_even_at_a_wall_clock_epoch(
    start: float, per_minute: int
) -> None:
    """Past the burst every call waits exactly once: float rounding at a large epoch never
    leaves a waiter a sliver short and sleeping again, and the minute budget still holds."""
    calls = per_minute * 3
    clock = BoundedClock(start, max_sleeps=calls)
    bucket = TokenBucket(per_minute, clock=clock)
    window: deque[float] = deque()
    for _ in range(calls):
        bucket.answered(await bucket.acquire())
        now = clock.now()
        window.append(now)
        while window[0] <= now - 60.0:
            window.popleft()
        assert len(window) <= per_minute
    assert len(clock.sleeps) <= calls - int(bucket.capacity)
    assert clock.now() - start <= 4 * 60.0


async def test_a_deficit_below_the_clock_resolution_still_ends() -> None:
    """A wait shorter than the float time can express still moves time and hands out the token."""
    clock = BoundedClock(EPOCH, max_sleeps=2)
    bucket = TokenBucket(90, clock=clock)
    bucket.tokens = 1.0 - 1e-8  # owes ~7e-9 s: adding that to 1.7e9 changes nothing
    bucket.answered(await bucket.acquire())
    assert clock.now() > EPOCH
    assert len(clock.sleeps) == 1


async def test_a_429_during_the_wait_is_not_overridden_by_the_deadline() -> None:
    """A throttle while a waiter sleeps empties the bucket: the old deadline no longer applies."""
    clock = ManualClock(EPOCH)
    bucket = TokenBucket(90, clock=clock)
    bucket.tokens = 0.0
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)  # the waiter computes its deadline and sleeps
    bucket.throttle()
    await waiter
    assert clock.now() - EPOCH >= 1.9 / bucket.nominal  # a token at half the rate


class GatedClock(ManualClock):
    """A ManualClock whose sleepers wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        await self.gate.wait()
        await super().sleep(seconds)


async def test_an_urgent_accounts_call_goes_before_every_converging_accounts_waiting_call() -> None:
    """The project's read budget is spent and ten converging accounts wait for it, in line; an
    account running an edit's pass asks last and is served first after the call already
    waiting for its tokens, then the others in their order."""
    clock = GatedClock()
    pacer = Pacer(PacingConfig(project_reads_per_minute=60), clock=clock)
    order: list[str] = []
    asked: list[str] = []

    async def read(account: str, urgent: bool = False) -> None:
        buckets = pacer.account(account)
        buckets.urgent = urgent
        asked.append(account)
        (await buckets.acquire(cost_of("people.connections.list"))).answered()
        order.append(account)

    converging = [asyncio.create_task(read(f"user{i}")) for i in range(10)]
    await eventually_async(lambda: len(asked) == 10, "the converging accounts to ask")
    served_before = len(order)  # the budget's burst; the next one waits for tokens
    edit = asyncio.create_task(read("edited", urgent=True))
    await eventually_async(lambda: len(asked) == 11, "the edited account to ask")
    clock.gate.set()
    await asyncio.gather(*converging, edit)
    assert order.index("edited") == served_before + 1
    assert [a for a in order if a != "edited"] == [f"user{i}" for i in range(10)]


def heaviest_minute(charges: list[tuple[float, float]]) -> float:
    """The most units any sliding 60-second window (t - 60, t] holds; the heaviest window
    ends at a charge, so looking at each charge's window is enough."""
    heaviest, held, first = 0.0, 0.0, 0
    for stamp, units in charges:
        held += units
        while charges[first][0] <= stamp - 60.0:
            held -= charges[first][1]
            first += 1
        heaviest = max(heaviest, held)
    return heaviest


@pytest.mark.parametrize("per_minute", [30, 90, 180, 1500])
@pytest.mark.parametrize("costs", [[6], [6, 1, 1], [10, 1, 6, 1, 1], [1, 1, 1, 10]])
async def test_calls_dearer_than_the_bucket_go_and_no_minute_carries_more_than_the_quota(
    per_minute: int, costs: list[int]
) -> None:
    """A batch create's 6 units (a batch delete's 10) go through a bucket of 3 (90 a minute,
    2 s of burst), and over twenty minutes of calls no sliding minute carries more than the
    quota, while the calls still get at least 80% of it (90% from 90 a minute up)."""
    clock = ManualClock()
    start = clock.now()
    bucket = TokenBucket(per_minute, clock=clock)
    charges: list[tuple[float, float]] = []
    while sum(units for _, units in charges) < 20 * per_minute:
        units = costs[len(charges) % len(costs)]
        bucket.answered(await bucket.acquire(units))
        charges.append((clock.now(), units))
    assert heaviest_minute(charges) <= per_minute
    assert clock.now() - start <= 20 * 60.0 / (0.8 if per_minute < 90 else 0.9)


async def test_a_batch_write_takes_its_units_of_each_quota_from_account_and_project() -> None:
    """A batch create takes 6 critical writes and 6 critical reads from the account's buckets
    and the project's; a group create takes one unit of group writes and nothing else."""
    clock = ManualClock()
    pacer = Pacer(PacingConfig(), clock=clock)
    alice = pacer.account("alice")
    (await alice.acquire(cost_of("people.batchCreateContacts"))).answered()
    (await alice.acquire(cost_of("contactGroups.create"))).answered()
    now = clock.now()
    for side in (alice.buckets, pacer.project):
        used = {quota.key: bucket.window.used(now) for quota, bucket in side.items()}
        assert used == {
            "critical_reads": 6,
            "critical_writes": 6,
            "group_reads": 0,
            "group_writes": 1,
            **({"directory_queries": 0} if side is alice.buckets else {}),
        }


async def test_a_429_slows_the_quota_its_metric_names() -> None:
    """A 429 naming the group-writes metric per project halves the project's group-writes
    bucket only; one naming no metric halves every quota the call drew on, the account's."""
    pacer = Pacer(PacingConfig(), clock=ManualClock())
    alice = pacer.account("alice")
    rates = {
        (side, quota): bucket.rate
        for side, buckets in (("user", alice.buckets), ("project", pacer.project))
        for quota, bucket in buckets.items()
    }

    def halved() -> set[tuple[str, str]]:
        return {
            (side, quota.key)
            for side, buckets in (("user", alice.buckets), ("project", pacer.project))
            for quota, bucket in buckets.items()
            if bucket.rate < rates[(side, quota)]
        }

    alice.throttle(
        cost_of("people.batchDeleteContacts"),
        quota_metric="people.googleapis.com/write_requests",
        quota_limit="WriteRequestsPerMinutePerProject",
        retry_after=None,
    )
    assert halved() == {("project", "group_writes")}
    alice.throttle(
        cost_of("people.batchUpdateContacts"), quota_metric=None, quota_limit=None, retry_after=None
    )
    assert halved() == {
        ("project", "group_writes"),
        ("user", "critical_reads"),
        ("user", "critical_writes"),
    }
    assert alice.buckets[GROUP_WRITES].rate == rates[("user", GROUP_WRITES)]


async def test_a_429_keeps_the_debt_of_a_dear_call() -> None:
    """A bucket left owing by a batch is not forgiven by a 429: it still owes, at half rate."""
    bucket = TokenBucket(90, clock=ManualClock())
    await bucket.acquire(6)
    assert bucket.tokens == pytest.approx(-3)
    bucket.throttle()
    assert bucket.tokens == pytest.approx(-3)


def test_a_budget_below_one_call_is_refused_by_name() -> None:
    """A quota smaller than what one call costs could never carry it: named at start."""
    with pytest.raises(ValueError, match="writes_per_minute is 5, below the 6 units one"):
        PacingConfig(writes_per_minute=5)
    with pytest.raises(
        ValueError, match=r"project_group_writes_per_minute is 9, .* people\.batchDeleteContacts"
    ):
        PacingConfig(project_group_writes_per_minute=9)


async def test_units_held_while_the_project_queues_count_until_a_minute_after_the_answer() -> None:
    """A batch that took the account's units and then waited half a minute for the project's
    is counted in the account's minute while it waits and is in flight, and for a minute from
    its answer: the server counts it when it arrives, which is no later than the answer."""
    clock = ManualClock()
    pacer = Pacer(PacingConfig(project_writes_per_minute=12), clock=clock)
    alice = pacer.account("alice")
    batch = cost_of("people.batchCreateContacts")
    (await alice.acquire(batch)).answered()
    start = clock.now()
    sending = await alice.acquire(batch)  # the account's writes refill in ~4 s, the project's
    assert clock.now() - start > 30  # in ~33 s
    clock.advance(75.0)  # in flight for 75 s: the server may count it at any moment of them
    for quota in (CRITICAL_READS, CRITICAL_WRITES):
        assert alice.buckets[quota].window.used(clock.now()) == 6
    sending.answered()
    clock.advance(59.0)
    for quota in (CRITICAL_READS, CRITICAL_WRITES):
        assert alice.buckets[quota].window.used(clock.now()) == 6
        assert pacer.project[quota].window.used(clock.now()) == 6
    clock.advance(1.0)
    for quota in (CRITICAL_READS, CRITICAL_WRITES):
        assert alice.buckets[quota].window.used(clock.now()) == 0
