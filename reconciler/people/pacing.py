"""Client-side pacing, so that steady work never meets a 429 in the first place.

Google meters the People API per quota (critical reads, critical writes, contact group reads,
contact deletes and group writes), each per user per minute and per project per minute (every
user a domain-wide-delegated service account acts for draws on the one project), and charges
each method a stated number of units (:data:`reconciler.model.quotas.COSTS`: a batch create is 6
critical writes and 6 critical reads). So each account gets a token bucket per quota, and every
account of a :class:`Pacer` (one per controller replica) also draws from the project's buckets;
plus a lock so that at most one mutation is in flight per account, as the API asks. A call
takes its units from every bucket of every quota it costs.

The server counts a call when it arrives, which may be seconds after it was sent (a server
that stalls takes in at once what queued meanwhile). So a call's units count in each bucket's
minute from when it takes them until its answer comes (:class:`Sending`), then for a minute
from the answer, as :class:`reconciler.model.quotas.MinuteWindow` keeps them: never released
before the server's own minute has let them go, however late the call arrived.

A bucket is adaptive: a 429 halves its rate and empties it (multiplicative decrease); every
success afterwards gives back a slice of the configured rate until it is whole again (additive
increase). A ``Retry-After`` pauses the bucket until that moment. A 429 slows the quota its
``quota_metric`` names (every quota the call drew on when it names none we know), the project's
bucket when its ``quota_limit`` is a per-project one (``...PerMinutePerProject``), else the
account's.

Defaults and where they come from are in ``docs/scale.md`` ("Google's quotas"): the per-user
figures are what users report from their consoles, the Directory's is published, and the project
budget is a stated assumption, meant to be set to the project's own limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.clock import Clock, SystemClock
from reconciler.model.quotas import (
    CRITICAL_READS,
    CRITICAL_WRITES,
    DIRECTORY_QUERIES,
    GROUP_READS,
    GROUP_WRITES,
    QUOTAS,
    Charge,
    MinuteWindow,
    Quota,
    dearest,
    quota_for_metric,
)
from reconciler.people.turns import Turns

__all__ = ["AccountPacer", "Pacer", "PacingConfig", "Sending", "TokenBucket"]

# Per user, units a minute, from reported console figures (docs/scale.md, "Google's quotas",
# has the table and its sources): generous where reports disagree, since one account rarely
# fills a minute and a 429 only halves the bucket, while a smaller bucket slows every edit.
DEFAULT_READS_PER_MINUTE = 180.0
DEFAULT_WRITES_PER_MINUTE = 90.0
DEFAULT_GROUP_READS_PER_MINUTE = 180.0
DEFAULT_GROUP_WRITES_PER_MINUTE = 30.0
# Published: the Directory API's queries per minute per user (docs/scale.md, quota 4).
DEFAULT_DIRECTORY_QUERIES_PER_MINUTE = 2400.0
# The shared project budget, in units a minute (docs/scale.md): an assumption, not a published
# figure; set it to the project's limits on the Cloud console's Quotas page.
DEFAULT_PROJECT_READS_PER_MINUTE = 3000.0
DEFAULT_PROJECT_WRITES_PER_MINUTE = 1500.0
DEFAULT_PROJECT_GROUP_READS_PER_MINUTE = 1500.0
DEFAULT_PROJECT_GROUP_WRITES_PER_MINUTE = 1500.0
PER_USER = "PerUser"
EPSILON = 1e-9  # float noise in the refill arithmetic, below any real token
MIN_WAIT = 1e-3  # the shortest sleep: time must visibly move between two looks at the bucket


@dataclass(frozen=True)
class PacingConfig:
    """Units per minute of each quota, per account and per project (``None``: no project
    budget for that quota); ``burst`` is the bucket size as a share of a minute."""

    reads_per_minute: float = DEFAULT_READS_PER_MINUTE
    writes_per_minute: float = DEFAULT_WRITES_PER_MINUTE
    group_reads_per_minute: float = DEFAULT_GROUP_READS_PER_MINUTE
    group_writes_per_minute: float = DEFAULT_GROUP_WRITES_PER_MINUTE
    directory_queries_per_minute: float = DEFAULT_DIRECTORY_QUERIES_PER_MINUTE
    project_reads_per_minute: float | None = DEFAULT_PROJECT_READS_PER_MINUTE
    project_writes_per_minute: float | None = DEFAULT_PROJECT_WRITES_PER_MINUTE
    project_group_reads_per_minute: float | None = DEFAULT_PROJECT_GROUP_READS_PER_MINUTE
    project_group_writes_per_minute: float | None = DEFAULT_PROJECT_GROUP_WRITES_PER_MINUTE
    burst_seconds: float = 2.0
    min_share: float = 0.05
    recovery_share: float = 0.02

    def __post_init__(self) -> None:
        fields = (*self._user_fields().items(), *self._project_fields().items())
        for quota, name in fields:
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive: {value}")
            units, method = dearest(quota)
            if value is not None and value < units:
                raise ValueError(
                    f"{name} is {value:g}, below the {units} units one {method} costs: "
                    "no minute could carry that call"
                )
        if self.burst_seconds <= 0:
            raise ValueError(f"burst_seconds must be positive: {self.burst_seconds}")

    @classmethod
    def uniform(cls, per_minute: float, *, project: float | None = None) -> PacingConfig:
        """Every quota at ``per_minute`` units for each account and ``project`` for the
        replica (``None``: no project budget): a roomy one lets the server's quota decide."""
        return cls.of(
            per_user=dict.fromkeys(cls._user_fields(), per_minute),
            per_project=dict.fromkeys(cls._project_fields(), project),
        )

    @classmethod
    def of(
        cls,
        *,
        per_user: Mapping[Quota, float] | None = None,
        per_project: Mapping[Quota, float | None] | None = None,
    ) -> PacingConfig:
        """The defaults, but for the budgets given by quota (``per_project`` ``None``: no
        project budget for that quota); the inverse of :meth:`per_user`/:meth:`per_project`."""
        user, project = cls._user_fields(), cls._project_fields()
        budgets: dict[str, Any] = {user[quota]: value for quota, value in (per_user or {}).items()}
        budgets |= {project[quota]: value for quota, value in (per_project or {}).items()}
        return cls(**budgets)

    @staticmethod
    def _user_fields() -> dict[Quota, str]:
        return {
            CRITICAL_READS: "reads_per_minute",
            CRITICAL_WRITES: "writes_per_minute",
            GROUP_READS: "group_reads_per_minute",
            GROUP_WRITES: "group_writes_per_minute",
            DIRECTORY_QUERIES: "directory_queries_per_minute",
        }

    @staticmethod
    def _project_fields() -> dict[Quota, str]:
        return {
            CRITICAL_READS: "project_reads_per_minute",
            CRITICAL_WRITES: "project_writes_per_minute",
            GROUP_READS: "project_group_reads_per_minute",
            GROUP_WRITES: "project_group_writes_per_minute",
        }

    def per_user(self) -> dict[Quota, float]:
        """Each paced quota's units a minute for one account (a quota missing: unpaced)."""
        return {quota: getattr(self, name) for quota, name in self._user_fields().items()}

    def per_project(self) -> dict[Quota, float]:
        """Each quota's units a minute for every account of the replica together."""
        budgets = {quota: getattr(self, name) for quota, name in self._project_fields().items()}
        return {quota: value for quota, value in budgets.items() if value is not None}


class TokenBucket:
    """Units of one quota, refilling continuously up to ``capacity``, and the minute they fill.

    The bucket holds ``burst_seconds`` of the rate, and at least ``holds`` units (the dearest
    call it paces, so that one goes whole from a full bucket), at most half the minute. The
    refill rate is ``(per_minute - capacity) / 60`` per second, so that calls no dearer than
    the bucket never put more than ``per_minute`` units in a 60-second window (Google's quotas
    are sliding per-minute windows), even when the window starts with a full bucket. A call
    dearer than the bucket (a batch create's 6 units against a 3-unit bucket) waits for a full
    bucket and leaves it owing the rest, which the refill repays before the next call; and the
    bucket keeps the minute's charges (:class:`MinuteWindow`, each counted until a minute
    after its call's answer), so that a call is held until it fits, and no window of the
    server's ever carries more than ``per_minute`` units whatever the costs and delays.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst_seconds: float = 2.0,
        holds: float = 1.0,
        min_share: float = 0.05,
        recovery_share: float = 0.02,
        clock: Clock | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.per_minute = per_minute
        burst = max(per_minute * burst_seconds / 60.0, holds)
        self.capacity = max(1.0, min(per_minute / 2.0, burst))
        self.nominal = (per_minute - self.capacity) / 60.0 or per_minute / 120.0
        self.rate = self.nominal
        self.min_rate = self.nominal * min_share
        self.recovery = self.nominal * recovery_share
        self.tokens = self.capacity
        self.updated = self.clock.now()
        self.paused_until = 0.0
        self.throttled = 0
        self.window = MinuteWindow()
        self._turns = Turns()  # one waiter at a time takes tokens: urgent ones first

    def _refill(self) -> None:
        now = self.clock.now()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self, cost: float = 1.0, *, urgent: bool = False) -> Charge:
        """Wait until ``cost`` units may go and take them: they count in the bucket's minute
        until :meth:`answered` is told the call's answer came. Waiters are served in order,
        ``urgent`` ones (an edit's pass) before the others.

        A cost above the bucket's capacity waits for a full bucket and goes into debt; one above
        the per-minute quota could never go (Google would refuse it every time) and is refused.
        """
        if cost > self.per_minute:
            raise ValueError(
                f"cost {cost} exceeds the quota of {self.per_minute:g} units a minute: "
                "no minute could carry it; raise the quota or split the call"
            )
        need = min(cost, self.capacity)  # what must be in the bucket before the call goes
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
                    self.tokens = max(self.tokens, need)
                if self.tokens >= need - EPSILON:
                    fits_at = self.window.room_at(now, cost, self.per_minute)
                    if fits_at <= now:
                        self.tokens -= cost  # below zero for a call dearer than the bucket
                        return self.window.hold(now, cost)
                    await self.clock.sleep(max(fits_at - now, MIN_WAIT))
                    continue
                ready_at = now + (need - self.tokens) / self.rate
                throttled = self.throttled
                # At least a quantum, so that a deficit smaller than the clock's resolution
                # still moves time past ``ready_at`` instead of spinning on zero-length sleeps.
                await self.clock.sleep(max(ready_at - now, MIN_WAIT))

    def answered(self, charge: Charge) -> None:
        """The call that took ``charge`` was answered (or failed) now: the server counted it
        by now, so its units leave the bucket's minute a minute from now."""
        self.window.answered(charge, self.clock.now())

    def max_cost(self) -> int:
        """The most units one request (a multipart /batch) should carry through this bucket
        without leaving it in debt."""
        return int(self.capacity)

    def throttle(self, retry_after: float | None = None) -> None:
        """A 429 came back: halve the rate, drop the tokens, pause for ``retry_after``."""
        self.throttled += 1
        self._refill()
        self.rate = max(self.min_rate, self.rate / 2.0)
        self.tokens = min(self.tokens, 0.0)  # a debt stays owed
        if retry_after:
            self.paused_until = max(self.paused_until, self.clock.now() + retry_after)

    def succeeded(self) -> None:
        """A call went through: give back a slice of the nominal rate."""
        if self.rate < self.nominal:
            self._refill()
            self.rate = min(self.nominal, self.rate + self.recovery)


Costs = Mapping[Quota, int]
"""Units of each quota one request costs (:func:`reconciler.model.quotas.cost_of`)."""


@dataclass
class Sending:
    """The units one call took from each bucket it draws on, until it is answered."""

    charges: list[tuple[TokenBucket, Charge]] = field(default_factory=list)

    def answered(self) -> None:
        """The answer came (or the call failed, or never went): every bucket counts the
        call's units from now."""
        for bucket, charge in self.charges:
            bucket.answered(charge)


@dataclass
class AccountPacer:
    """The buckets and the mutation lock of one account, and the project's shared buckets:
    one bucket per paced quota on each side.

    While ``urgent`` is set (the account runs an edit's pass), its calls take their tokens
    before those of the accounts that merely converge, however long their line."""

    buckets: dict[Quota, TokenBucket]
    mutation: asyncio.Lock = field(default_factory=asyncio.Lock)
    project: dict[Quota, TokenBucket] = field(default_factory=dict)
    urgent: bool = False

    def _draws(self, costs: Costs, *, project: bool) -> list[tuple[TokenBucket, int]]:
        """The buckets a call draws from and the units it takes from each, in one fixed order
        (the order of :data:`QUOTAS`), so that every caller queues the same way."""
        side = self.project if project else self.buckets
        return [
            (side[quota], costs[quota]) for quota in QUOTAS if costs.get(quota) and quota in side
        ]

    async def acquire(self, costs: Costs) -> Sending:
        """Wait for the account's units, then the project's (never holding one while queued
        for the other's lock, so accounts queue for the project in arrival order). The units
        count in every bucket's minute until the returned :class:`Sending` is answered: the
        server counts the call when it arrives, at a moment this replica cannot see but which
        lies before the answer."""
        sending = Sending()
        try:
            for project in (False, True):
                for bucket, units in self._draws(costs, project=project):
                    sending.charges.append(
                        (bucket, await bucket.acquire(units, urgent=self.urgent))
                    )
        except BaseException:
            sending.answered()  # never sent: what was taken is let go from now
            raise
        return sending

    def holds(self, quota: Quota) -> float:
        """The most units of ``quota`` one request can take without leaving a bucket in debt
        (a multipart /batch is cut to fit)."""
        sides = (self.buckets.get(quota), self.project.get(quota))
        return min((b.max_cost() for b in sides if b is not None), default=float("inf"))

    def throttle(
        self,
        costs: Costs,
        *,
        quota_metric: str | None,
        quota_limit: str | None,
        retry_after: float | None,
    ) -> None:
        """A 429: slow the buckets it names: the quota of its metric (every quota the call
        drew on when the metric is none we know), the project's for a per-project limit (the
        account's when that quota has no project budget)."""
        named = quota_for_metric(quota_metric)
        quotas = [named] if named is not None else [q for q in QUOTAS if costs.get(q)]
        per_project = bool(quota_limit) and PER_USER not in (quota_limit or "")
        for quota in quotas:
            bucket = (self.project.get(quota) if per_project else None) or self.buckets.get(quota)
            if bucket is not None:
                bucket.throttle(retry_after)

    def succeeded(self, costs: Costs) -> None:
        """A call went through: every bucket it drew on recovers a little."""
        for project in (False, True):
            for bucket, _ in self._draws(costs, project=project):
                bucket.succeeded()


class Pacer:
    """Hands out one :class:`AccountPacer` per account, created on first use; every account
    of one pacer shares its project budget, so one pacer per replica."""

    def __init__(self, config: PacingConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or PacingConfig()
        self.clock: Clock = clock or SystemClock()
        self._accounts: dict[str, AccountPacer] = {}
        self.project = {
            quota: self._bucket(quota, per_minute)
            for quota, per_minute in self.config.per_project().items()
        }

    def _bucket(self, quota: Quota, per_minute: float) -> TokenBucket:
        return TokenBucket(
            per_minute,
            burst_seconds=self.config.burst_seconds,
            holds=dearest(quota)[0],
            min_share=self.config.min_share,
            recovery_share=self.config.recovery_share,
            clock=self.clock,
        )

    def account(self, name: str) -> AccountPacer:
        pacer = self._accounts.get(name)
        if pacer is None:
            pacer = AccountPacer(
                buckets={
                    quota: self._bucket(quota, per_minute)
                    for quota, per_minute in self.config.per_user().items()
                },
                project=self.project,
            )
            self._accounts[name] = pacer
        return pacer
