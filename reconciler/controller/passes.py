"""What one reconcile pass does against the API: converge, or only plan (to report drift).

Both read live state afresh (level-triggered: a pass never trusts what an earlier one saw) and
go through the apply engine, so the controller plans and writes exactly like ``reconciler
apply``. Two controller-only twists live here:

- contacts suspended by annotation are left out of the desired state, and their live copies are
  shown to the planner as protected from pruning, so a pruning plan does not delete what the
  manifest only asked us to leave alone (they stay listed, so the create journal still sees them);
- a pass waits for nothing: creates whose outcome is not known yet come back as pending with a
  time to look again, and the work queue, not a sleep inside the pass, brings them back;
- a pass over a few known contacts (drift, retries) may be *scoped*: it reads just those
  contacts by resource name (one ``batchGet`` per 200) instead of listing the whole address
  book, plans only them and never prunes. Anything it cannot read by name (deleted meanwhile,
  stamp gone) makes it fall back to a full pass, because only a full listing may decide that a
  contact is missing and must be created: that is how duplicates are made.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.live import read_live
from reconciler.apply.results import ApplyResult
from reconciler.controller.polling import Written, echoes_our_write
from reconciler.controller.written import OwnWrites
from reconciler.model import PRUNE_KEY, DesiredState, read_stamp
from reconciler.model.limits import MAX_BATCH_GET
from reconciler.people.batching import chunks
from reconciler.plan.build import build_plan
from reconciler.plan.model import Plan

if TYPE_CHECKING:
    from reconciler.apply.executor import Person
    from reconciler.people.client import PeopleClient

__all__ = ["ApplyBackend", "HidingGateway", "ScopeMiss"]


class ScopeMiss(Exception):
    """A contact of a scoped pass could not be read by name; only a full pass may decide."""


class HidingGateway(ClientGateway):
    """A gateway whose listings mark our contacts stamped with a ``hidden`` name as protected
    from pruning (as ``reconciler/prune: "false"`` would), so no plan deletes them."""

    def __init__(self, client: PeopleClient, owner: str, written: Written | None = None) -> None:
        super().__init__(client)
        self.owner = owner
        self.written: Written = written if written is not None else OwnWrites()
        self.hidden: frozenset[str] = frozenset()
        self.scope: tuple[str, ...] | None = None  # resource names: read these, list nothing

    async def list_people(self) -> tuple[list[Person], bool]:
        if self.scope is None:
            people, complete = await super().list_people()
            # A contact edited while the pages are read can be listed twice (its place in the
            # order moved): the same resource name is one contact, the later copy the fresher.
            people = list({str(p.get("resourceName")): p for p in people}.values())
        else:
            people, complete = await self._read_scope(self.scope), False
        for person in people:  # what is newer than our last write retires our copy of it
            echoes_our_write(self.written, person)
        if self.hidden:
            people = [self._protect(p) if self._hides(p) else p for p in people]
        return people, complete

    async def _read_scope(self, names: tuple[str, ...]) -> list[Person]:
        people: list[Person] = []
        for batch in chunks(names, MAX_BATCH_GET):
            answers = await self.batch_get(batch)
            for name in batch:
                answer = answers.get(name)
                if not isinstance(answer, dict) or (answer.get("metadata") or {}).get("deleted"):
                    raise ScopeMiss(name)
                stamp = read_stamp(answer.get("clientData"))
                if stamp is None or stamp.owner != self.owner:
                    raise ScopeMiss(name)
                people.append(answer)
        return people

    @staticmethod
    def _protect(person: Person) -> Person:
        entries = list(person.get("clientData") or [])
        return {**person, "clientData": [{"key": PRUNE_KEY, "value": "false"}, *entries]}

    def _hides(self, person: Person) -> bool:
        stamp = read_stamp(person.get("clientData"))
        return stamp is not None and stamp.owner == self.owner and stamp.name in self.hidden


@dataclass
class ApplyBackend:
    """Runs passes for one account through one client and one create journal.

    ``written`` (resource name -> what our last write of it answered; after a while only its
    etag, see :mod:`reconciler.controller.written`) lives as long as the account: the engine
    reads it so that a lagging listing never hides our own last etag, and the poller reads it
    to tell our own writes echoing back from out-of-band edits.
    """

    client: PeopleClient
    journal: CreateJournal
    settings: ApplySettings
    written: Written = field(default_factory=OwnWrites)
    withheld_deletes: int = 0  # contact deletions the last full pass withheld (over the caps)
    _gateway: HidingGateway = field(init=False)

    def __post_init__(self) -> None:
        # One round per pass: pending creates are requeued, never waited for inside a pass.
        self.settings = replace(self.settings, passes=1)
        self._gateway = HidingGateway(self.client, self.settings.plan.owner, self.written)

    async def apply(
        self,
        desired: DesiredState,
        hidden: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
    ) -> ApplyResult:
        """Converge the account on ``desired``; every object gets an outcome.

        With ``scope`` (manifest name -> resource name) only those contacts are read and
        converged; if one cannot be read by name, the pass is a full one after all.
        ``on_plan`` is shown the plan before it is carried out (the status reads its orphans).
        """
        self._gateway.hidden = frozenset(hidden)
        self.written.compact()
        shown = None if on_plan is None else (lambda plan: on_plan(plan) or True)
        if scope and not self.journal.entries:  # creates in flight: only a full listing settles
            subset, settings = self._scoped(desired, scope)
            try:
                return await converge(
                    self._gateway,
                    self.journal,
                    subset,
                    settings,
                    written=self.written,
                    on_plan=shown,
                )
            except ScopeMiss:
                pass
            finally:
                self._gateway.scope = None

        def note(plan: Plan) -> bool:  # what the full plan withheld; never stops the pass
            self.withheld_deletes = plan.withheld_deletes
            if on_plan is not None:
                on_plan(plan)
            return True

        return await converge(
            self._gateway, self.journal, desired, self.settings, written=self.written, on_plan=note
        )

    async def plan(
        self,
        desired: DesiredState,
        hidden: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Plan:
        """What a converge would do now, writing nothing (raises PlanError like a converge)."""
        self._gateway.hidden = frozenset(hidden)
        if scope and not self.journal.entries:
            subset, settings = self._scoped(desired, scope)
            try:
                return await self._plan(subset, settings)
            except ScopeMiss:
                pass
            finally:
                self._gateway.scope = None
        plan = await self._plan(desired, self.settings)
        self.withheld_deletes = plan.withheld_deletes
        return plan

    async def _plan(self, desired: DesiredState, settings: ApplySettings) -> Plan:
        read = await read_live(
            self._gateway,
            self.journal,
            owner=settings.plan.owner,
            settle=settings.executor.settle,
            now=time.time,
        )
        return build_plan(desired, read.state, settings.plan)

    def _scoped(
        self, desired: DesiredState, scope: Mapping[str, str]
    ) -> tuple[DesiredState, ApplySettings]:
        """The desired state and settings of a scoped pass; arms the gateway's scope."""
        self._gateway.scope = tuple(sorted(set(scope.values())))
        contacts = [c for c in desired.contacts if c.name in scope]
        subset = DesiredState(contacts=contacts, groups=desired.groups, complete=True)
        return subset, replace(self.settings, plan=replace(self.settings.plan, prune=False))
