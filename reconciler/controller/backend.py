"""What one reconcile pass does against the API: converge, or only plan (to report drift).

Both read live state afresh (level-triggered: a pass never trusts what an earlier one saw) and
go through the apply engine, so the controller plans and writes exactly like ``reconciler
apply``. What the controller adds:

- suspended contacts are left out of the desired state and shown to the planner as protected
  from pruning (:mod:`reconciler.controller.suspension`, through
  :class:`~reconciler.controller.gateway.PassGateway`);
- a pass waits for nothing: it runs one round, creates whose outcome is not known yet come back
  as pending with a time to look again, and the work queue, not a sleep inside the pass, brings
  them back;
- a pass over a few known contacts may be *scoped* (:mod:`reconciler.controller.scope`): it
  reads just those, plans only them and never prunes; a contact it cannot read by name makes
  it a full pass after all;
- the write lease is taken only by a pass that has something to write, right before its
  first write (:mod:`reconciler.controller.leasing`);
- the answers a pass's writes kept whole are dropped ``hold`` seconds later (only their etags
  stay), by a timer rather than at the next poll: polls may be minutes apart, or deferred while
  a domain converges (:mod:`reconciler.controller.pollschedule`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reconciler.apply.engine import ApplySettings, Steering, converge
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.lease import Lease
from reconciler.apply.live import read_live
from reconciler.apply.planner import plan_off_loop
from reconciler.apply.results import ApplyResult
from reconciler.clock import Clock, SystemClock
from reconciler.controller.gateway import PassGateway
from reconciler.controller.leasing import PassLease
from reconciler.controller.liveindex import LiveIndex
from reconciler.controller.scope import ScopeMiss, scoped_desired
from reconciler.model import DesiredState
from reconciler.plan.model import Plan

if TYPE_CHECKING:
    from reconciler.people.client import PeopleClient

__all__ = ["ApplyBackend"]


@dataclass(frozen=True)
class _PassTime:
    """The account's clock for the times a pass reports (on its queue's timeline), with real
    sleeps for the pass's own short waits (a conflict's backoff): those never wait for the
    account's clock to be moved."""

    clock: Clock

    def now(self) -> float:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        await _REAL_TIME.sleep(seconds)


_REAL_TIME = SystemClock()


@dataclass
class ApplyBackend:
    """Runs passes for one account through one client and one create journal.

    ``written`` (the account's live index: what it knows of its live contacts between
    passes, our last write of each whole while young, then only its etag; see
    :mod:`reconciler.controller.liveindex`) lives as long as the account: the engine reads it
    so that a lagging listing never hides our own last write, and the poller shares it to tell
    our own writes echoing back from out-of-band edits. ``clock``
    is the account worker's, so the retry times a pass reports are on the queue's timeline (a
    pass's own short waits, such as a conflict's backoff, stay real sleeps); the live index
    dates the answers it keeps on it too, and the journal should be on it (the runner's is).
    """

    client: PeopleClient
    journal: CreateJournal
    settings: ApplySettings
    clock: Clock = field(default_factory=SystemClock)
    written: LiveIndex = field(init=False)
    withheld_deletes: int = 0  # contact deletions the last full pass withheld (over the caps)
    withheld_why: str = ""  # the plan's account of them, with the override ``run`` offers
    lease: Lease | None = None  # the account's write lease; None: write without one (tests)
    leasing: PassLease | None = field(init=False, default=None)  # when passes hold ``lease``
    _gateway: PassGateway = field(init=False)
    _compacting: asyncio.TimerHandle | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # One round per pass: pending creates are requeued, never waited for inside a pass.
        self.settings = replace(self.settings, rounds=1)
        self.written = LiveIndex(clock=self.clock)
        self._gateway = PassGateway(self.client, self.settings.plan.owner, self.written)
        if self.lease is not None:
            gateway = self._gateway
            self.leasing = PassLease(
                self.lease, self.journal, ClientGateway(self.client),
                seen=lambda: gateway.lease_group, clock=self.clock,
            )  # fmt: skip

    async def apply(
        self,
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        steering: Steering | None = None,
    ) -> ApplyResult:
        """Converge the account on ``desired``; every object gets an outcome (unless
        ``steering`` stopped the pass between two batches: then what was not sent has none).

        With ``scope`` (manifest name -> resource name) only those contacts are read and
        converged; if one cannot be read by name, the pass is a full one after all.
        ``on_plan`` is shown the plan before it is carried out (the status reads its orphans).
        """
        self._gateway.suspended = frozenset(suspended)
        self.written.compact()
        try:
            return await self._apply(desired, scope, on_plan, steering or Steering())
        finally:
            self._compact_later()

    async def _apply(
        self,
        desired: DesiredState,
        scope: Mapping[str, str] | None,
        on_plan: Callable[[Plan], None] | None,
        steering: Steering,
    ) -> ApplyResult:
        shown = None if on_plan is None else (lambda plan: on_plan(plan) or True)
        if scope and not self.journal.entries:  # creates in flight: only a full listing settles
            subset, settings = self._scoped(desired, scope)
            try:
                return await self._converge(subset, settings, shown, steering)
            except ScopeMiss:
                pass
            finally:
                self._gateway.scope = None

        def note(plan: Plan) -> bool:  # what the full plan withheld; never stops the pass
            self.withheld_deletes, self.withheld_why = plan.withheld_deletes, plan.withheld_why
            if on_plan is not None:
                on_plan(plan)
            return True

        return await self._converge(desired, self.settings, note, steering)

    @property
    def urgent(self) -> bool:
        """The account's calls go before other accounts' for the pacer's tokens (an edit's
        pass runs)."""
        return self.client.urgent

    @urgent.setter
    def urgent(self, value: bool) -> None:
        self.client.urgent = value

    @property
    def paced_seconds(self) -> float:
        """Seconds the account's calls have waited for the pacer's tokens so far."""
        return self.client.stats.paced

    def _compact_later(self) -> None:
        """Drop the answers this pass kept once they are ``hold`` old (one timer an account)."""
        if self._compacting is not None:
            self._compacting.cancel()
        self._compacting = asyncio.get_running_loop().call_later(
            self.written.hold + 1.0, self.written.compact
        )

    def between_passes(self, next_pass_in: float | None) -> None:
        """No pass is running; the next is due in ``next_pass_in`` seconds (None: none is
        queued): the lease is kept for it or given back."""
        if self.leasing is not None:
            self.leasing.idle(next_pass_in)

    async def close(self, within: float) -> None:
        """Give the lease back, once a listing shows our creates (waiting ``within`` at most)."""
        if self._compacting is not None:
            self._compacting.cancel()
        if self.leasing is not None:
            await self.leasing.close(within)

    async def _converge(
        self,
        desired: DesiredState,
        settings: ApplySettings,
        on_plan: Callable[[Plan], bool] | None,
        steering: Steering,
    ) -> ApplyResult:
        """Converge; under the lease, taken only before the first write (see
        :mod:`reconciler.controller.leasing`)."""
        if self.leasing is None:
            return await self._converge_now(desired, settings, on_plan, steering)
        async with self.leasing.passing():
            return await self._converge_now(desired, settings, on_plan, steering)

    async def _converge_now(
        self,
        desired: DesiredState,
        settings: ApplySettings,
        on_plan: Callable[[Plan], bool] | None,
        steering: Steering,
    ) -> ApplyResult:
        try:
            return await converge(
                self._gateway,
                self.journal,
                desired,
                settings,
                written=self.written,
                clock=_PassTime(self.clock),
                on_plan=on_plan,
                may_write=None if self.leasing is None else self.leasing.may_write,
                steering=steering,
            )
        finally:
            await self.written.pack()  # the pass's answers, compressed off the loop

    async def plan(
        self,
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Plan:
        """What a converge would do now, writing nothing (raises PlanError like a converge)."""
        self._gateway.suspended = frozenset(suspended)
        if scope and not self.journal.entries:
            subset, settings = self._scoped(desired, scope)
            try:
                return await self._plan(subset, settings)
            except ScopeMiss:
                pass
            finally:
                self._gateway.scope = None
        plan = await self._plan(desired, self.settings)
        self.withheld_deletes, self.withheld_why = plan.withheld_deletes, plan.withheld_why
        return plan

    async def _plan(self, desired: DesiredState, settings: ApplySettings) -> Plan:
        read = await read_live(
            self._gateway,
            self.journal,
            owner=settings.plan.owner,
            settle=settings.executor.settle,
            now=self.clock.now,
        )
        return await plan_off_loop(desired, read.state, settings.plan)

    def _scoped(
        self, desired: DesiredState, scope: Mapping[str, str]
    ) -> tuple[DesiredState, ApplySettings]:
        """The desired state and settings of a scoped pass; arms the gateway's scope."""
        self._gateway.scope = tuple(sorted(set(scope.values())))
        return scoped_desired(desired, scope), replace(
            self.settings, plan=replace(self.settings.plan, prune=False)
        )
