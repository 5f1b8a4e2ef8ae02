"""Client-side pacing, so that steady work never meets a 429 in the first place.

Google meters the People API twice: per user per minute, and per project per minute (every user
a domain-wide-delegated service account acts for draws on the one project). So each account gets
a token bucket for reads and one for writes, and every account of a :class:`Pacer` (one per
controller replica) also draws from a shared pair of project buckets; plus a lock so that at most
one mutation is in flight per account, as the API asks. A bucket is adaptive: a 429 halves its
rate and empties it (multiplicative decrease); every success afterwards gives back a slice of the
configured rate until it is whole again (additive increase). A ``Retry-After`` pauses the bucket
until that moment. A 429 is charged to the project buckets when its quota limit is a per-project
one (``...PerMinutePerProject``), else to the account's.

Defaults and where they come from are in ``docs/scale.md``: Google's documentation publishes no
default numbers for either quota; the per-user figures are what users report, and the project
budget is a stated assumption, meant to be set to the project's own limits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from reconciler.clock import Clock, SystemClock
from reconciler.people.turns import Turns

__all__ = ["AccountPacer", "Pacer", "PacingConfig", "ProjectBudget", "TokenBucket"]

# Reported figures (docs/people-api.md): about 90 writes and 180 reads per user per minute.
DEFAULT_WRITES_PER_MINUTE = 90.0
DEFAULT_READS_PER_MINUTE = 180.0
# The shared project budget (docs/scale.md): an assumption, not a published figure; set it to
# the project's limits on the Cloud console's Quotas page.
DEFAULT_PROJECT_READS_PER_MINUTE = 3000.0
DEFAULT_PROJECT_WRITES_PER_MINUTE = 1500.0
PER_USER = "PerUser"
EPSILON = 1e-9  # float noise in the refill arithmetic, below any real token
MIN_WAIT = 1e-3  # the shortest sleep: time must visibly move between two looks at the bucket


@dataclass(frozen=True)
class PacingConfig:
    """Rates per account and per project per minute (``None``: no project budget); ``burst``
    is the bucket size as a share of a minute."""

    reads_per_minute: float = DEFAULT_READS_PER_MINUTE
    writes_per_minute: float = DEFAULT_WRITES_PER_MINUTE
    project_reads_per_minute: float | None = DEFAULT_PROJECT_READS_PER_MINUTE
    project_writes_per_minute: float | None = DEFAULT_PROJECT_WRITES_PER_MINUTE
    burst_seconds: float = 2.0
    min_share: float = 0.05
    recovery_share: float = 0.02

    def __post_init__(self) -> None:
        for name in (
            "reads_per_minute",
            "writes_per_minute",
            "project_reads_per_minute",
            "project_writes_per_minute",
            "burst_seconds",
        ):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive: {value}")


class TokenBucket:
    """Tokens refill continuously up to ``capacity``.

    The refill rate is ``(per_minute - capacity) / 60`` per second, so that no 60-second window
    (Google's quotas are sliding per-minute windows) ever sees more than ``per_minute`` calls,
    even when the window starts with a full bucket.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst_seconds: float = 2.0,
        min_share: float = 0.05,
        recovery_share: float = 0.02,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.capacity = max(1.0, min(per_minute / 2.0, per_minute * burst_seconds / 60.0))
        self.nominal = (per_minute - self.capacity) / 60.0 or per_minute / 120.0
        self.rate = self.nominal
        self.min_rate = self.nominal * min_share
        self.recovery = self.nominal * recovery_share
        self.tokens = self.capacity
        self.updated = self.clock.now()
        self.paused_until = 0.0
        self.throttled = 0
        self._turns = Turns()  # one waiter at a time takes tokens: urgent ones first

    def _refill(self) -> None:
        now = self.clock.now()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self, cost: float = 1.0, *, urgent: bool = False) -> None:
        """Wait until ``cost`` tokens are available and take them. Waiters are served in order,
        ``urgent`` ones (an edit's pass) before the others.

        ``cost`` may not exceed the capacity: split larger work (see :meth:`max_cost`).
        """
        if cost > self.capacity:
            raise ValueError(f"cost must be at most the bucket capacity {self.capacity}: {cost}")
        async with self._turns.hold(urgent=urgent):
            ready_at: float | None = None  # when the deficit seen before the last sleep is paid
            throttled = self.throttled
            while True:
                now = self.clock.now()
                if now < self.paused_until:
                    await self.clock.sleep(self.paused_until - now)
                    continue
                self._refill()
                if ready_at is not None and now >= ready_at and throttled == self.throttled:
                    # The wait we asked for has passed. At a large epoch (1.7e9 s) a float time
                    # has a resolution of ~2e-7 s, so the refill can come out a hair short:
                    # trust the deadline rather than sleep again on a sliver of a token.
                    self.tokens = max(self.tokens, cost)
                if self.tokens >= cost - EPSILON:
                    self.tokens = max(0.0, self.tokens - cost)
                    return
                ready_at = now + (cost - self.tokens) / self.rate
                throttled = self.throttled
                # At least a quantum, so that a deficit smaller than the clock's resolution
                # still moves time past ``ready_at`` instead of spinning on zero-length sleeps.
                await self.clock.sleep(max(ready_at - now, MIN_WAIT))

    def max_cost(self) -> int:
        """The largest number of calls one request (a /batch) may carry through this bucket."""
        return int(self.capacity)

    def throttle(self, retry_after: float | None = None) -> None:
        """A 429 came back: halve the rate, drop the tokens, pause for ``retry_after``."""
        self.throttled += 1
        self._refill()
        self.rate = max(self.min_rate, self.rate / 2.0)
        self.tokens = 0.0
        if retry_after:
            self.paused_until = max(self.paused_until, self.clock.now() + retry_after)

    def succeeded(self) -> None:
        """A call went through: give back a slice of the nominal rate."""
        if self.rate < self.nominal:
            self._refill()
            self.rate = min(self.nominal, self.rate + self.recovery)


@dataclass
class ProjectBudget:
    """The buckets every account of one replica shares: the project's per-minute quotas."""

    reads: TokenBucket | None
    writes: TokenBucket | None


@dataclass
class AccountPacer:
    """The buckets and the mutation lock of one account, and the project's shared buckets.

    While ``urgent`` is set (the account runs an edit's pass), its calls take their tokens
    before those of the accounts that merely converge, however long their line."""

    reads: TokenBucket
    writes: TokenBucket
    mutation: asyncio.Lock = field(default_factory=asyncio.Lock)
    project: ProjectBudget = field(default_factory=lambda: ProjectBudget(None, None))
    urgent: bool = False

    def _buckets(self, *, write: bool, project: bool) -> list[TokenBucket]:
        """The buckets a call draws from: writes also consume read quota (docs/people-api.md)."""
        if project:
            wanted = [self.project.writes if write else None, self.project.reads]
        else:
            wanted = [self.writes if write else None, self.reads]
        return [bucket for bucket in wanted if bucket is not None]

    async def acquire(self, *, write: bool, cost: int = 1) -> None:
        """Wait for the account's tokens, then the project's (never holding one while queued
        for the other's lock, so accounts queue for the project in arrival order)."""
        for bucket in self._buckets(write=write, project=False):
            await bucket.acquire(cost, urgent=self.urgent)
        for bucket in self._buckets(write=write, project=True):
            await bucket.acquire(cost, urgent=self.urgent)

    def max_cost(self, *, write: bool) -> int:
        """The most calls one request (a /batch) may carry through every bucket it draws on."""
        buckets = self._buckets(write=write, project=False)
        return min(b.max_cost() for b in buckets + self._buckets(write=write, project=True))

    def throttle(
        self,
        *,
        write: bool,
        quota_metric: str | None,
        quota_limit: str | None,
        retry_after: float | None,
    ) -> None:
        """A 429: slow the buckets its quota names (the project's for a per-project limit; the
        write bucket for a write metric; both buckets when a write's 429 names no metric)."""
        project = bool(quota_limit) and PER_USER not in (quota_limit or "")
        if project and self.project.reads is None and self.project.writes is None:
            project = False  # no project budget configured: the account slows down instead
        reads, writes = (
            (self.project.reads, self.project.writes) if project else (self.reads, self.writes)
        )
        metric = quota_metric or ""
        bucket = writes if write and ("critical_write_requests" in metric or not metric) else None
        target = bucket or reads
        if target is not None:
            target.throttle(retry_after)
        if bucket is not None and not metric and reads is not None:
            reads.throttle(retry_after)

    def succeeded(self, *, write: bool) -> None:
        """A call went through: every bucket it drew on recovers a little."""
        for project in (False, True):
            for bucket in self._buckets(write=write, project=project):
                bucket.succeeded()


class Pacer:
    """Hands out one :class:`AccountPacer` per account, created on first use; every account
    of one pacer shares its project budget, so one pacer per replica."""

    def __init__(self, config: PacingConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or PacingConfig()
        self.clock: Clock = clock or SystemClock()
        self._accounts: dict[str, AccountPacer] = {}
        reads, writes = self.config.project_reads_per_minute, self.config.project_writes_per_minute
        self.project = ProjectBudget(
            reads=self._bucket(reads) if reads is not None else None,
            writes=self._bucket(writes) if writes is not None else None,
        )

    def _bucket(self, per_minute: float) -> TokenBucket:
        return TokenBucket(
            per_minute,
            burst_seconds=self.config.burst_seconds,
            min_share=self.config.min_share,
            recovery_share=self.config.recovery_share,
            clock=self.clock,
        )

    def account(self, name: str) -> AccountPacer:
        pacer = self._accounts.get(name)
        if pacer is None:
            pacer = AccountPacer(
                reads=self._bucket(self.config.reads_per_minute),
                writes=self._bucket(self.config.writes_per_minute),
                project=self.project,
            )
            self._accounts[name] = pacer
        return pacer
