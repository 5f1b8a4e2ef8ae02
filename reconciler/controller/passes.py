"""What one reconcile pass does against the API: converge, or only plan (to report drift).

Both read live state afresh (level-triggered: a pass never trusts what an earlier one saw) and
go through the apply engine, so the controller plans and writes exactly like ``reconciler
apply``. Two controller-only twists live here:

- contacts suspended by annotation are left out of the desired state, and their live copies are
  shown to the planner as protected from pruning, so a pruning plan does not delete what the
  manifest only asked us to leave alone (they stay listed, so the create journal still sees them);
- a pass waits for nothing: creates whose outcome is not known yet come back as pending with a
  time to look again, and the work queue, not a sleep inside the pass, brings them back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.live import read_live
from reconciler.apply.results import ApplyResult
from reconciler.model import PRUNE_KEY, DesiredState, read_stamp
from reconciler.plan.build import build_plan
from reconciler.plan.model import Plan

if TYPE_CHECKING:
    from reconciler.apply.executor import Person
    from reconciler.people.client import PeopleClient

__all__ = ["ApplyBackend", "HidingGateway"]


class HidingGateway(ClientGateway):
    """A gateway whose listings mark our contacts stamped with a ``hidden`` name as protected
    from pruning (as ``reconciler/prune: "false"`` would), so no plan deletes them."""

    def __init__(self, client: PeopleClient, owner: str) -> None:
        super().__init__(client)
        self.owner = owner
        self.hidden: frozenset[str] = frozenset()

    async def list_people(self) -> tuple[list[Person], bool]:
        people, complete = await super().list_people()
        if self.hidden:
            people = [self._protect(p) if self._hides(p) else p for p in people]
        return people, complete

    @staticmethod
    def _protect(person: Person) -> Person:
        entries = list(person.get("clientData") or [])
        return {**person, "clientData": [{"key": PRUNE_KEY, "value": "false"}, *entries]}

    def _hides(self, person: Person) -> bool:
        stamp = read_stamp(person.get("clientData"))
        return stamp is not None and stamp.owner == self.owner and stamp.name in self.hidden


@dataclass
class ApplyBackend:
    """Runs passes for one account through one client and one create journal."""

    client: PeopleClient
    journal: CreateJournal
    settings: ApplySettings
    _gateway: HidingGateway = field(init=False)

    def __post_init__(self) -> None:
        # One round per pass: pending creates are requeued, never waited for inside a pass.
        self.settings = replace(self.settings, passes=1)
        self._gateway = HidingGateway(self.client, self.settings.plan.owner)

    async def apply(self, desired: DesiredState, hidden: Iterable[str] = ()) -> ApplyResult:
        """Converge the account on ``desired``; every object gets an outcome."""
        self._gateway.hidden = frozenset(hidden)
        return await converge(self._gateway, self.journal, desired, self.settings)

    async def plan(self, desired: DesiredState, hidden: Iterable[str] = ()) -> Plan:
        """What a converge would do now, writing nothing (raises PlanError like a converge)."""
        self._gateway.hidden = frozenset(hidden)
        read = await read_live(
            self._gateway,
            self.journal,
            owner=self.settings.plan.owner,
            settle=self.settings.executor.settle,
            now=time.time,
        )
        return build_plan(desired, read.state, self.settings.plan)
