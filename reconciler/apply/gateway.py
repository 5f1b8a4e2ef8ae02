"""The apply engine's view of a :class:`~reconciler.people.PeopleClient`.

The executor speaks in plain persons and errors (``Person | PeopleError`` per item); the client
speaks in :class:`~reconciler.people.results.ItemResult`. This adapter is the only place that
knows both, and it fixes the read masks. Reads ask for every field a plan compares; writes ask
for only what is used of their answer (:data:`WRITE_ANSWER_FIELDS`): the engine makes the
complete, fresher-than-any-read copy of a written contact from what it sent
(:func:`reconciler.apply.live.as_written`), so the server need not send the contact back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.apply.executor import ItemResult
from reconciler.model import PERSON_WRITABLE_FIELDS
from reconciler.model.inputs import Person
from reconciler.people.errors import PeopleError, ServerError

if TYPE_CHECKING:
    from reconciler.people.client import PeopleClient
    from reconciler.people.results import ItemResult as ClientItem

# Everything a plan compares, plus the metadata that carries sources and the deleted flag.
PERSON_FIELDS: tuple[str, ...] = tuple(sorted(PERSON_WRITABLE_FIELDS | {"metadata"}))

# What is used of a contact write's answer, besides the resource name and etag every answer
# carries: the sources' update times (to tell it from a lagging listing, ``fresher``) and the
# ownership stamp (a batch create's answers are matched to manifests by it).
WRITE_ANSWER_FIELDS: tuple[str, ...] = ("clientData", "metadata")


def _item(result: ClientItem) -> ItemResult:
    if result.error is not None:
        return result.error
    if result.person is None:
        return ServerError("the server answered no person for this item")
    return dict(result.person)


class ClientGateway:
    """Adapts a ``PeopleClient`` to :class:`~reconciler.apply.engine.ApplyGateway`."""

    def __init__(self, client: PeopleClient) -> None:
        self.client = client
        self.sync_token: str | None = None

    async def list_people(self) -> tuple[list[Person], bool]:
        listing = await self.client.list_people(PERSON_FIELDS)
        self.sync_token = listing.next_sync_token
        people = [p for p in listing.people if not (p.get("metadata") or {}).get("deleted")]
        return people, listing.complete

    async def changed_since_listing(self) -> dict[str, Person] | None:
        """Contacts changed since our last listing (one incremental sync), or None when the
        listing gave no sync token. Syncs may lag writes: a contact missing here may still
        have changed, so this only ever saves rejections, it never replaces the etag check."""
        if self.sync_token is None:
            return None
        listing = await self.client.list_people(PERSON_FIELDS, sync_token=self.sync_token)
        self.sync_token = listing.next_sync_token or self.sync_token
        return {
            str(p.get("resourceName")): dict(p)
            for p in listing.people
            if not (p.get("metadata") or {}).get("deleted")
        }

    async def list_groups(self) -> list[Person]:
        return [dict(g) for g in await self.client.list_groups()]

    async def batch_get(self, names: Sequence[str]) -> dict[str, ItemResult]:
        results = await self.client.batch_get(list(names), PERSON_FIELDS)
        return {name: _item(result) for name, result in results.items()}

    async def batch_create(
        self,
        bodies: Sequence[Person],
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> list[ItemResult]:
        """One ``batchCreateContacts`` call; ``before_send`` is awaited right before each
        attempt leaves (after any wait behind the pacer)."""
        results = await self.client.batch_create(
            bodies, WRITE_ANSWER_FIELDS, before_send=before_send
        )
        return [_item(r) for r in results]

    async def batch_update(
        self, bodies: Mapping[str, Person], mask: Sequence[str]
    ) -> dict[str, ItemResult]:
        """One ``batchUpdateContacts`` call (at most 200 contacts). When the API rejects the
        call and names some contacts, the others come back :class:`NotApplied`, so that the
        engine packs them into its next call together with the re-merged conflicts."""
        results = await self.client.batch_update(bodies, list(mask), WRITE_ANSWER_FIELDS)
        return {name: _item(result) for name, result in results.items()}

    async def batch_delete(self, names: Sequence[str]) -> dict[str, PeopleError | None]:
        results = await self.client.batch_delete(list(names))
        return {name: result.error for name, result in results.items()}

    async def create_group(self, body: Person) -> Person:
        client_data: list[dict[str, str]] = [
            {"key": str(e.get("key")), "value": str(e.get("value"))}
            for e in body.get("clientData") or ()
        ]
        return dict(await self.client.create_group(str(body.get("name")), client_data=client_data))

    async def update_group(self, resource_name: str, body: Person, mask: Sequence[str]) -> Person:
        group: dict[str, Any] = {**body, "resourceName": resource_name}
        return dict(await self.client.update_group(group, list(mask) or "name,clientData"))

    async def delete_group(self, resource_name: str) -> None:
        await self.client.delete_group(resource_name)
