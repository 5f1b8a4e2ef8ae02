"""``PeopleClient``: the People API operations the reconciler needs, in their batch forms.

Listings read every page (pageSize 1000) and report a sync token; incremental listings return
changes and tombstones, or raise :class:`SyncTokenExpired` so that the caller resyncs. Batch
writes are chunked to the API's limits, and per-item failures are isolated so the rest of a
chunk still goes through. Every write returns what the server answered (person and etag).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.model.inputs import Person
from reconciler.people.batching import chunks, item_errors, mask
from reconciler.people.errors import (
    PeopleError,
    PermissionDenied,
    ServerError,
    Unauthenticated,
    UnknownOutcome,
    classify_status,
)
from reconciler.people.group_calls import GroupOperations
from reconciler.people.multipart_calls import MultipartCalls
from reconciler.people.results import ClientStats, ItemResult, Listing, latest_copies
from reconciler.people.transport import Transport

__all__ = ["LISTING_ATTEMPTS", "PeopleClient"]

LISTING_ATTEMPTS = 3  # reads of a listing that keeps shifting under its cursor before giving up

Send = Callable[[list[str]], Awaitable[dict[str, ItemResult]]]
TERMINAL_FOR_ALL = (Unauthenticated, PermissionDenied)


class PeopleClient(GroupOperations, MultipartCalls):
    """The People API for one account. Build it with :func:`reconciler.people.connect`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.config = transport.config

    def __repr__(self) -> str:
        return f"PeopleClient(account={self.account!r})"

    @property
    def stats(self) -> ClientStats:
        """HTTP requests by method id and status."""
        return self.transport.stats

    @property
    def account(self) -> str:
        return self.transport.account

    # reads ------------------------------------------------------------------------------

    async def list_people(
        self, person_fields: str | Sequence[str], *, sync_token: str | None = None
    ) -> Listing:
        """Every contact (or, with ``sync_token``, every change since), all pages read.

        Pages are offsets into a list ordered by last change: a contact edited or deleted
        behind the cursor shifts every later one forward, so one would be skipped and look
        absent (and the planner would create it again). When a page shows such a shift (a
        contact listed again, or the total shrinking) the listing is read again from the start;
        if the book keeps changing under :data:`LISTING_ATTEMPTS` reads, this raises
        :class:`ServerError` rather than hand out a listing that may miss contacts.
        """
        pages = 0
        for attempt in range(1, LISTING_ATTEMPTS + 1):
            listing, shifted = await self._read_pages(person_fields, sync_token)
            pages += listing.pages
            if not shifted:
                return replace(listing, pages=pages, restarts=attempt - 1)
            self.transport.log.info(
                "people.listing_shifted", attempt=attempt, incremental=sync_token is not None
            )
        raise ServerError(
            f"the address book changed under {LISTING_ATTEMPTS} listings in a row, so one "
            "could miss contacts; try again when edits settle",
            method="people.connections.list",
        )

    async def _read_pages(
        self, person_fields: str | Sequence[str], sync_token: str | None
    ) -> tuple[Listing, bool]:
        """One listing, every page, and whether it saw the list shift under its cursor."""
        people: list[Person] = []
        page_token: str | None = None
        seen_tokens: set[str] = set()
        seen_names: set[str] = set()
        shifted = False
        total: int | None = None
        pages = 0
        while True:
            params = [
                ("personFields", mask(person_fields)),
                ("pageSize", str(self.config.page_size)),
                ("requestSyncToken", "true"),
            ]
            if sync_token:
                params.append(("syncToken", sync_token))
            if page_token:
                params.append(("pageToken", page_token))
            page = await self.transport.call(
                "people.connections.list", "GET", "v1/people/me/connections", params=params
            )
            pages += 1
            listed = page.get("connections") or []
            names = {str(p["resourceName"]) for p in listed if p.get("resourceName")}
            page_total = page.get("totalItems", page.get("totalPeople"))
            if names & seen_names or (
                isinstance(page_total, int) and total is not None and page_total < total
            ):
                shifted = True
            seen_names |= names
            total = page_total if isinstance(page_total, int) else total
            people.extend(listed)
            page_token = page.get("nextPageToken") or None
            if page_token is None:
                listing = Listing(
                    people=latest_copies(people),
                    next_sync_token=page.get("nextSyncToken"),
                    complete=True,
                    pages=pages,
                    incremental=sync_token is not None,
                )
                return listing, shifted
            if page_token in seen_tokens:
                raise ServerError(
                    "the listing returned a page token twice; refusing to loop",
                    method="people.connections.list",
                )
            seen_tokens.add(page_token)

    async def get_person(self, resource_name: str, person_fields: str | Sequence[str]) -> Person:
        """One contact, every field (connections.list caps emails and phones at 100)."""
        person: Person = await self.transport.call(
            "people.get",
            "GET",
            f"v1/{resource_name}",
            params=[("personFields", mask(person_fields))],
            resource=resource_name,
        )
        return person

    async def batch_get(
        self, resource_names: Sequence[str], person_fields: str | Sequence[str]
    ) -> dict[str, ItemResult]:
        """``{requested name: result}`` in chunks of 200; a missing contact is a per-item
        :class:`NotFound`."""
        results: dict[str, ItemResult] = {}
        for chunk in chunks(list(dict.fromkeys(resource_names)), self.config.get_chunk):
            params = [("resourceNames", name) for name in chunk]
            params.append(("personFields", mask(person_fields)))
            answer = await self.transport.call(
                "people.getBatchGet", "GET", "v1/people:batchGet", params=params
            )
            for response in answer.get("responses") or []:
                name = str(response.get("requestedResourceName"))
                status = response.get("status") or {}
                if status.get("code"):
                    error = classify_status(status, method="people.getBatchGet", resource=name)
                    results[name] = ItemResult(name, error=error)
                else:
                    results[name] = ItemResult(name, person=response.get("person"))
        return results

    # batch writes -----------------------------------------------------------------------

    async def _isolated(
        self, keys: list[str], send: Send, *, by_position: bool
    ) -> dict[str, ItemResult]:
        """Send ``keys``; items the server names as failed are set aside and the rest re-sent.
        A rejection that names nothing is narrowed down by halving the chunk."""
        results: dict[str, ItemResult] = {}
        pending = keys
        while pending:
            try:
                results.update(await send(pending))
                return results
            except TERMINAL_FOR_ALL:
                raise
            except PeopleError as error:
                failed = item_errors(error, pending, by_position=by_position)
                self.transport.log.info(
                    "people.batch_rejected",
                    method=error.method,
                    error=type(error).__name__,
                    batch=len(pending),
                    named=len(failed),
                )
                if failed:
                    results.update({key: ItemResult(key, error=e) for key, e in failed.items()})
                    pending = [key for key in pending if key not in failed]
                    continue
                if error.retryable or isinstance(error, UnknownOutcome) or len(pending) == 1:
                    results.update({key: ItemResult(key, error=error) for key in pending})
                    return results
                half = len(pending) // 2
                for part in (pending[:half], pending[half:]):
                    results.update(await self._isolated(part, send, by_position=by_position))
                return results
        return results

    async def batch_create(
        self, people: Sequence[Mapping[str, Any]], read_mask: str | Sequence[str] = "metadata"
    ) -> list[ItemResult]:
        """Create contacts in chunks of 200; results in input order, keyed by input index.

        A chunk whose answer was lost comes back as :class:`UnknownOutcome` items: list the
        address book before creating them again.
        """
        read = mask(read_mask) or "metadata"

        async def send(keys: list[str]) -> dict[str, ItemResult]:
            body = {
                "contacts": [{"contactPerson": dict(people[int(k)])} for k in keys],
                "readMask": read,
            }
            answer = await self.transport.call(
                "people.batchCreateContacts",
                "POST",
                "v1/people:batchCreateContacts",
                body=body,
                write=True,
                create=True,
            )
            created = answer.get("createdPeople") or []
            out: dict[str, ItemResult] = {}
            for key, response in zip(keys, created, strict=False):
                status = response.get("status") or {}
                if status.get("code"):
                    out[key] = ItemResult(key, error=classify_status(status))
                else:
                    out[key] = ItemResult(key, person=response.get("person"))
            for key in keys[len(created) :]:
                out[key] = ItemResult(
                    key,
                    error=UnknownOutcome(
                        "batchCreateContacts answered fewer people than it was sent",
                        method="people.batchCreateContacts",
                    ),
                )
            return out

        results: dict[str, ItemResult] = {}
        indexes = [str(i) for i in range(len(people))]
        for chunk in chunks(indexes, self.config.write_chunk):
            results.update(await self._isolated(chunk, send, by_position=True))
        return [results[key] for key in indexes]

    async def batch_update(
        self,
        people_by_name: Mapping[str, Mapping[str, Any]],
        update_mask: str | Sequence[str],
        read_mask: str | Sequence[str] = "metadata",
    ) -> dict[str, ItemResult]:
        """Update contacts in chunks of 200 (each person carries its etag); fields in
        ``update_mask`` are replaced whole. ``{resource name: result}``."""

        async def send(keys: list[str]) -> dict[str, ItemResult]:
            chunk = {key: people_by_name[key] for key in keys}
            return await self.send_batch_update(chunk, update_mask, read_mask)

        results: dict[str, ItemResult] = {}
        for chunk in chunks(list(people_by_name), self.config.write_chunk):
            results.update(await self._isolated(chunk, send, by_position=False))
        return results

    async def send_batch_update(
        self,
        people_by_name: Mapping[str, Mapping[str, Any]],
        update_mask: str | Sequence[str],
        read_mask: str | Sequence[str] = "metadata",
    ) -> dict[str, ItemResult]:
        """One ``batchUpdateContacts`` call, as given: no chunking, and a rejected call raises
        its :class:`PeopleError` (whose details may name the failed contacts) for the caller to
        handle. :meth:`batch_update` is this plus chunking and isolation of bad contacts."""
        body = {
            "contacts": {key: dict(person) for key, person in people_by_name.items()},
            "updateMask": mask(update_mask),
            "readMask": mask(read_mask) or "metadata",
        }
        answer = await self.transport.call(
            "people.batchUpdateContacts",
            "POST",
            "v1/people:batchUpdateContacts",
            body=body,
            write=True,
        )
        updated = answer.get("updateResult") or {}
        out: dict[str, ItemResult] = {}
        for key in people_by_name:
            response = updated.get(key) or {}
            status = response.get("status") or {}
            if status.get("code"):
                out[key] = ItemResult(key, error=classify_status(status, resource=key))
            else:
                out[key] = ItemResult(key, person=response.get("person"))
        return out

    async def batch_delete(self, resource_names: Sequence[str]) -> dict[str, ItemResult]:
        """Delete contacts in chunks of 500 (deletes carry no etag: re-read before deleting)."""

        async def send(keys: list[str]) -> dict[str, ItemResult]:
            await self.transport.call(
                "people.batchDeleteContacts",
                "POST",
                "v1/people:batchDeleteContacts",
                body={"resourceNames": keys},
                write=True,
            )
            return {key: ItemResult(key) for key in keys}

        results: dict[str, ItemResult] = {}
        for chunk in chunks(list(dict.fromkeys(resource_names)), self.config.delete_chunk):
            results.update(await self._isolated(chunk, send, by_position=False))
        return results

    # single writes ----------------------------------------------------------------------

    async def create_contact(
        self, person: Mapping[str, Any], person_fields: str | Sequence[str] = "metadata"
    ) -> Person:
        """One contact; a lost answer raises :class:`UnknownOutcome`."""
        created: Person = await self.transport.call(
            "people.createContact",
            "POST",
            "v1/people:createContact",
            params=[("personFields", mask(person_fields) or "metadata")],
            body=dict(person),
            write=True,
            create=True,
        )
        return created

    async def update_contact(
        self,
        person: Mapping[str, Any],
        update_person_fields: str | Sequence[str],
        person_fields: str | Sequence[str] = "metadata",
    ) -> Person:
        """One contact (``person`` carries ``resourceName`` and ``etag``)."""
        name = str(person.get("resourceName"))
        updated: Person = await self.transport.call(
            "people.updateContact",
            "PATCH",
            f"v1/{name}:updateContact",
            params=[
                ("updatePersonFields", mask(update_person_fields)),
                ("personFields", mask(person_fields) or "metadata"),
            ],
            body=dict(person),
            write=True,
            resource=name,
        )
        return updated

    async def delete_contact(self, resource_name: str) -> None:
        await self.transport.call(
            "people.deleteContact",
            "DELETE",
            f"v1/{resource_name}:deleteContact",
            write=True,
            resource=resource_name,
        )
