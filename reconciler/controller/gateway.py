"""What a controller pass shows the planner of the live address book.

A pass reads live state through the apply engine's :class:`~reconciler.apply.gateway.ClientGateway`
like ``reconciler apply`` does; :class:`PassGateway` only puts together what the controller adds,
each step in its own place:

1. read: a full listing, or for a scoped pass the few contacts by name
   (:mod:`reconciler.controller.scope`);
2. one copy per contact: a contact edited while the pages are read can be listed twice (its
   place in the order moved); the same resource name is one contact, the later copy the fresher;
3. what is newer than our last write of a contact retires our copy of it
   (:meth:`reconciler.controller.liveindex.LiveIndex.echoes`);
4. suspended contacts are shown protected from pruning (:mod:`reconciler.controller.suspension`);
5. a full listing rebuilds the account's key index and hands its sync token to the poller
   (:meth:`~reconciler.controller.liveindex.LiveIndex.relist`): a pass's own listing is as good
   as a poll, so the account needs no listing of the poller's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.apply.gateway import ClientGateway
from reconciler.controller.liveindex import LiveIndex
from reconciler.controller.scope import read_scope
from reconciler.controller.suspension import protect_suspended
from reconciler.model.inputs import Person
from reconciler.model.stamps import is_lease_group

if TYPE_CHECKING:
    from reconciler.people.client import PeopleClient

__all__ = ["PassGateway", "one_copy_each"]


class PassGateway(ClientGateway):
    """The gateway of one account's passes; ``scope`` and ``suspended`` are set per pass."""

    def __init__(self, client: PeopleClient, owner: str, written: LiveIndex | None = None) -> None:
        super().__init__(client)
        self.owner = owner
        self.written = written if written is not None else LiveIndex()  # the account's
        self.suspended: frozenset[str] = frozenset()
        self.scope: tuple[str, ...] | None = None  # resource names: read these, list nothing
        # The write lease's group as the last groups listing showed it (None: there was none);
        # a pass that takes the lease with its etag need not read again (controller/leasing.py).
        self.lease_group: Person | None = None

    async def list_groups(self) -> list[Person]:
        groups = await super().list_groups()
        self.lease_group = next((g for g in groups if is_lease_group(g)), None)
        return groups

    async def list_people(self) -> tuple[list[Person], bool]:
        if self.scope is None:
            people, complete = await super().list_people()
            people = one_copy_each(people)
            self.written.relist(people, self.owner, self.sync_token)
        else:
            people, complete = await read_scope(self.batch_get, self.scope, self.owner), False
        for person in people:
            self.written.echoes(person)
        return protect_suspended(people, self.owner, self.suspended), complete


def one_copy_each(people: list[Person]) -> list[Person]:
    """One person per resource name, the last listed copy (the fresher) of each."""
    return list({str(p.get("resourceName")): p for p in people}.values())
