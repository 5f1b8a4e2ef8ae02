"""One apply, start to finish: read live state, plan, execute, in rounds until nothing is left.

The pipeline, one step per block of :func:`converge`:

1. read live state (listing + create journal, see :mod:`reconciler.apply.live`);
2. plan with the pure core (``build_plan``) off the event loop
   (:mod:`reconciler.apply.planner`); a plan error stops the run before any write;
3. execute the plan's own waves and batches in order, one call per batch (the plan cut them,
   once: :mod:`reconciler.plan.batching`; a saved plan runs exactly as it was saved):
   groups (their resource names replace the placeholders that contact bodies use for groups
   created by the same plan), contacts (creates journaled; updates etag-guarded, re-merged on
   conflict), contact deletes (each re-read first), group deletes;
4. if something is left with a next-attempt time (a create whose answer was lost, a conflict,
   a failure the transport gave up on), wait for it and run another round, at most
   ``rounds`` in all: the next listing and plan decide what is still to do.

A controller steers a pass two ways (:class:`Steering`): the batches holding some keys (those
of a manifest edit) run first in their wave, whose batches may run in any order; and a pass
may be asked to stop between two batches once it has sent one, when an edit it did not read
came in (its writes so far are answered and journaled, what was not sent has no outcome: the
next pass plans it again, from a fresh listing, with the edit).

Every object ends with an outcome in the :class:`~reconciler.apply.results.ApplyResult`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from reconciler.apply.creates import run_creates
from reconciler.apply.deletes import delete_contacts, delete_groups
from reconciler.apply.executor import Executor, ExecutorSettings, Gateway
from reconciler.apply.group_writes import run_groups
from reconciler.apply.journal import CreateJournal
from reconciler.apply.live import LiveRead, LiveReader, read_live
from reconciler.apply.ops import ContactOp, GroupOp, OpKind
from reconciler.apply.planner import plan_off_loop
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome
from reconciler.apply.updates import run_updates
from reconciler.clock import Clock, SystemClock
from reconciler.model import DesiredState, LiveState, read_stamp
from reconciler.model.inputs import Person
from reconciler.people.errors import PeopleError
from reconciler.plan.errors import PlanError, PlanRefused
from reconciler.plan.model import Action, Batch, Kind, Method, Plan, PlanItem, WaveName
from reconciler.plan.options import PlanOptions
from reconciler.plan.pending import resolve_body

log = structlog.get_logger("reconciler.apply")


class ApplyGateway(Gateway, LiveReader, Protocol):
    """Everything an apply needs from the client."""


@dataclass(frozen=True)
class Steering:
    """``first``: keys whose batches run before the others of their wave; ``stop``: asked
    between two batches once one was sent, True stops the pass there."""

    first: frozenset[str] = frozenset()
    stop: Callable[[], bool] | None = None


@dataclass(frozen=True)
class ApplySettings:
    """``rounds`` bounds the rounds of one apply; ``max_wait`` how long it waits for them."""

    plan: PlanOptions = field(default_factory=PlanOptions)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    rounds: int = 3
    max_wait: float = 120.0


_OP_KIND = {
    Action.CREATE: OpKind.CREATE,
    Action.UPDATE: OpKind.UPDATE,
    Action.ADOPT: OpKind.UPDATE,
    Action.DELETE: OpKind.DELETE,
}


def group_op(item: PlanItem) -> GroupOp:
    return GroupOp(
        kind=_OP_KIND[item.action],
        key=item.key,
        resource_name=item.resource_name,
        etag=item.etag,
        body=dict(item.body),
        mask=tuple(item.update_mask),
    )


def contact_op(item: PlanItem, groups: Mapping[str, str]) -> ContactOp:
    """The executor's record of a contact item; raises KeyError naming a group that is missing."""
    return ContactOp(
        kind=_OP_KIND[item.action],
        key=item.key,
        resource_name=item.resource_name,
        etag=item.etag,
        body=resolve_body(item.body, groups) if item.pending_groups or item.body else {},
        mask=tuple(item.update_mask),
        adopt=item.action is Action.ADOPT,
    )


def _protected(person: Person) -> bool:
    stamp = read_stamp(person.get("clientData"))
    return stamp is not None and not stamp.prunable


@dataclass
class Run:
    """The state of one apply across its rounds."""

    gateway: ApplyGateway
    journal: CreateJournal
    desired: DesiredState
    settings: ApplySettings
    result: ApplyResult = field(default_factory=ApplyResult)
    clock: Clock = field(default_factory=SystemClock)  # retry times, and the waits for them
    rng: random.Random = field(default_factory=random.Random)  # retry jitter; seed it in tests
    progress: Callable[[int], None] | None = None
    on_plan: Callable[[Plan], bool] | None = None  # shown the first plan; False cancels
    # Asked before a plan with writes is carried out: False means the live state it was planned
    # from may be stale (a write lease was only taken now), so the round reads and plans again.
    may_write: Callable[[Plan], Awaitable[bool]] | None = None
    live: LiveState = field(default_factory=LiveState)
    saved: bool = False  # a saved plan (:mod:`reconciler.apply.saved`): nothing is re-planned
    steering: Steering = field(default_factory=Steering)
    round: int = 0  # rounds before the current one
    # What our writes answered, across rounds (and a controller's passes): fresher than a
    # lagging listing. The executor writes each answer into it as it comes, so whoever shares
    # it (the controller's poller, telling our own writes from others' edits) sees them at once.
    written: MutableMapping[str, Person] = field(default_factory=dict)

    def executor(self) -> Executor:
        return Executor(
            gateway=self.gateway,
            journal=self.journal,
            result=self.result,
            owner=self.settings.plan.owner,
            replan=None if self.saved else self.replan,
            settings=self.settings.executor,
            rng=self.rng,
            clock=self.clock,
            progress=self.progress,
            written=self.written,  # each answer lands here as it comes: no pass works on a copy
            live={str(p.get("resourceName")): p for p in self.live.people},
            round=self.round,
        )

    async def replan(self, fresh: Mapping[str, Person]) -> dict[str, ContactOp | None]:
        """Redo the three-way merge for contacts re-read after a conflict (never prunes)."""
        names = {str(p.get("resourceName")) for p in fresh.values()}
        people = [p for p in self.live.people if str(p.get("resourceName")) not in names]
        live = replace(self.live, people=[*people, *fresh.values()])
        self.live = live
        try:
            plan = await plan_off_loop(self.desired, live, replace(self.settings.plan, prune=False))
        except PlanError as error:
            log.warning("apply.replan_failed", error=str(error))
            return {}
        items = {i.key: i for i in plan.items if i.kind is Kind.CONTACT and i.key in fresh}
        groups = group_names(live.groups, self.settings.plan.owner)
        verdicts: dict[str, ContactOp | None] = {}
        for key in fresh:
            item = items.get(key)
            if item is None or item.action is Action.NOOP:
                verdicts[key] = None
                continue
            try:
                verdicts[key] = contact_op(item, groups)
            except KeyError:
                continue
        return verdicts

    async def converge(self) -> ApplyResult:
        """Rounds until nothing is left to retry, at most ``rounds``, within ``max_wait``.

        A round plans afresh from a new listing, so whatever the last one left (a pending
        create, a conflict, a failure worth another attempt) is retried by planning it again,
        never by resending the old call: this is the one-shot apply's only retry above the
        transport.
        """
        deadline = self.clock.now() + self.settings.max_wait
        for round_ in range(max(1, self.settings.rounds)):
            self.round = round_
            read = await self._read()
            if read is None or not await self.one_round(read) or self.result.stopped:
                return self.result
            if round_ + 1 >= self.settings.rounds:
                return self.result
            wake = self._wake(deadline, last=round_ + 2 >= self.settings.rounds)
            if wake is None:
                return self.result
            log.info("apply.next_round", seconds=round(max(0.0, wake - self.clock.now()), 2))
            await self.clock.sleep(max(0.0, wake - self.clock.now()) + 0.05)
        return self.result

    async def _read(self) -> LiveRead | None:
        """The live state to plan from; None (and an error) when it cannot be read."""
        try:
            return await read_live(
                self.gateway,
                self.journal,
                owner=self.settings.plan.owner,
                settle=self.settings.executor.settle,
                now=self.clock.now,
                written=self.written,
            )
        except PeopleError as error:
            self.result.errors.append(f"reading live state failed: {error}")
            return None

    def _wake(self, deadline: float, *, last: bool) -> float | None:
        """When the next round should start: the earliest next-attempt time of what is
        left, or for the last round the latest one before ``deadline`` (so that a create
        waiting for the listing is not crowded out by an earlier retry); None: no round."""
        times = [
            r.retry_at.timestamp()
            for r in self.result.left
            if r.retry_at is not None and r.retry_at.timestamp() <= deadline
        ]
        if not times:
            return None
        return max(times) if last else min(times)

    async def one_round(self, read: LiveRead) -> bool:
        """Plan and execute once. Returns False when the run must stop (a plan error)."""
        self.live = read.state
        for key, resource_name in read.confirmed.items():
            self.result.record(
                ObjectResult(
                    "contact",
                    key,
                    Outcome.CREATED,
                    reason="confirmed by the listing",
                    resource_name=resource_name,
                )
            )
        try:
            plan = await plan_off_loop(self.desired, read.state, self.settings.plan)
        except PlanError as error:
            self.result.errors.append(str(error))
            if isinstance(error, PlanRefused):
                self.result.refused = str(error)
            return False
        approve, self.on_plan = self.on_plan, None
        if approve is not None and not approve(plan):
            self.result.cancelled = True
            return False
        if self.may_write is not None and not plan.empty and not await self.may_write(plan):
            self.on_plan = approve  # the plan it approves is the one made from the new read
            again = await self._read()
            return again is not None and await self.one_round(again)
        await self.execute(plan, pending=read.pending)
        self._record_unchanged(plan)
        return True

    async def execute(self, plan: Plan, *, pending: Mapping[str, float] | None = None) -> None:
        """Run the plan's waves in order, each of its batches as one call (group batches: one
        call per group, as the API has no batch form for them)."""
        pending = pending or {}
        executor = self.executor()
        executor.upcoming = {
            i.resource_name: i.key
            for i in plan.items
            if i.kind is Kind.CONTACT and i.action in (Action.UPDATE, Action.ADOPT)
            if i.resource_name
        }
        self.result.drift.update(plan.drift_left)  # shown, never written (report)
        for item in plan.items:  # kept (pruning off, protected...): the plan's "unchanged"
            if item.action is Action.NOOP:
                executor.record(
                    str(item.kind),
                    item.key,
                    Outcome.UNCHANGED,
                    reason=item.reason,
                    resource_name=item.resource_name,
                )
                if item.orphan:
                    self.result.orphans.add((str(item.kind), item.key))
        first, stop = self.steering.first, self.steering.stop
        sent = False
        for wave in plan.waves:
            answered: dict[str, Person] = {}
            batches = wave.batches
            if first:  # stable: the others keep the plan's order
                batches = tuple(
                    sorted(batches, key=lambda b: all(i.key not in first for i in b.items))
                )
            for batch in batches:
                if sent and stop is not None and stop():
                    log.info("apply.stopped", reason="asked between two batches")
                    self.result.stopped = True
                    return
                answered.update(await self._run_batch(executor, batch, pending))
                sent = True
            if wave.name is WaveName.GROUPS:
                self._fold_groups(answered)

    async def _run_batch(
        self, ex: Executor, batch: Batch, pending: Mapping[str, float]
    ) -> dict[str, Person]:
        """One batch of the plan, by its method; returns the groups the server answered."""
        method = batch.method
        if method in (Method.CREATE_GROUP, Method.UPDATE_GROUP):
            return await run_groups(ex, [group_op(i) for i in batch.items])
        if method is Method.DELETE_GROUP:
            await delete_groups(ex, [group_op(i) for i in batch.items])
        elif method is Method.BATCH_DELETE:
            groups = group_names(self.live.groups, self.settings.plan.owner)
            ops = [contact_op(i, groups) for i in batch.items]
            await delete_contacts(ex, ops, protected=_protected)
        else:
            ops = self._contact_ops(ex, batch.items, pending)
            await (run_creates if method is Method.BATCH_CREATE else run_updates)(ex, ops)
        return {}

    def _contact_ops(
        self, ex: Executor, items: Sequence[PlanItem], pending: Mapping[str, float]
    ) -> list[ContactOp]:
        """The writes of a contacts batch; a create that may still appear in the listing and a
        contact whose group could not be created are left out, with their outcome."""
        groups = group_names(self.live.groups, self.settings.plan.owner)
        ops: list[ContactOp] = []
        for item in items:
            if item.action is Action.CREATE and item.key in pending:
                ex.record(
                    "contact",
                    item.key,
                    Outcome.PENDING,
                    reason="an earlier create may still appear in the listing",
                    retry_at=datetime.fromtimestamp(pending[item.key], UTC),
                )
                continue
            try:
                ops.append(contact_op(item, groups))
            except KeyError as missing:
                reason = f"group {missing} could not be created"
                ex.record("contact", item.key, Outcome.FAILED, reason=reason)
        return ops

    def _fold_groups(self, answered: Mapping[str, Person]) -> None:
        live_groups = {str(g.get("resourceName")): g for g in self.live.groups}
        live_groups.update({str(g.get("resourceName")): g for g in answered.values()})
        self.live = replace(self.live, groups=list(live_groups.values()))

    def _record_unchanged(self, plan: Plan) -> None:
        """What the plan leaves alone is unchanged, counted as the plan's summary counts it:
        the contacts (of the selection) and groups with nothing to change (the kept no-ops are
        recorded when the plan is executed)."""
        touched = {(str(i.kind), i.key) for i in plan.items}
        selector = self.settings.plan.selector
        desired: list[tuple[str, str]] = [
            ("contact", contact.name)
            for contact in self.desired.contacts
            if selector is None or selector.matches(contact.labels)
        ]
        desired += [("group", group.name) for group in self.desired.groups]
        for kind, key in desired:
            if (kind, key) not in touched and self.result.get(kind, key) is None:
                self.result.record(ObjectResult(kind, key, Outcome.UNCHANGED))


def group_names(groups: Sequence[Mapping[str, Any]], owner: str) -> dict[str, str]:
    """Group manifest name -> resource name, for the groups we own."""
    names: dict[str, str] = {}
    for group in groups:
        stamp = read_stamp(group.get("clientData"))
        if stamp is not None and stamp.owner == owner and group.get("resourceName"):
            names[stamp.name] = str(group["resourceName"])
    return names


async def converge(
    gateway: ApplyGateway,
    journal: CreateJournal,
    desired: DesiredState,
    settings: ApplySettings,
    *,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[Plan], bool] | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    written: MutableMapping[str, Person] | None = None,
    may_write: Callable[[Plan], Awaitable[bool]] | None = None,
    steering: Steering | None = None,
) -> ApplyResult:
    """Make the live address book match ``desired``; see the module docstring.

    ``written`` carries what our writes answered from one call to the next (a controller keeps
    one per account), so that a lagging listing never hides our own last etag; it is updated.
    ``rng`` draws the retry jitter (a fresh unseeded one by default; seeded, runs repeat);
    ``clock`` dates what is left and waits for it (the system's by default).
    ``may_write`` is asked before a plan's first write (see :class:`Run`): the controller takes
    its write lease there, only when a pass has something to write. ``steering``: see
    :class:`Steering`.
    """
    run = Run(
        gateway,
        journal,
        desired,
        settings,
        clock=clock or SystemClock(),
        rng=rng or random.Random(),
        progress=progress,
        on_plan=on_plan,
        written=written if written is not None else {},
        may_write=may_write,
        steering=steering or Steering(),
    )
    return await run.converge()
