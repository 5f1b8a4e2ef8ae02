"""``PeopleClient``: the People API operations the reconciler needs, in their batch forms.

Listings read every page (pageSize 1000) and report a sync token; incremental listings return
changes and tombstones, or raise :class:`SyncTokenExpired` so that the caller resyncs. A listing
cuts emails and phone numbers at 100 per person, so a person listed with that many is read
again in full (getBatchGet) before the listing is handed out: callers never see a cut field. A batch
method sends the batch it is given as one call and refuses one over the API's limit: the planner
cuts batches (once, visibly, in the plan) and the apply engine executes them, so a second cut
here could only disagree. Per-item failures come back per item, and every write returns what
the server answered (person and etag).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from reconciler.model.inputs import Person
from reconciler.model.limits import (
    LISTED_VALUE_FIELDS,
    MAX_BATCH_CREATE,
    MAX_BATCH_DELETE,
    MAX_BATCH_GET,
    MAX_BATCH_UPDATE,
    MAX_LISTED_VALUES,
)
from reconciler.people.batching import item_errors, mask
from reconciler.people.errors import (
    NotApplied,
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
Sized = TypeVar("Sized", bound=Collection[Any])


def _within(items: Sized, limit: int, method: str) -> Sized:
    """``items`` unchanged, or a ValueError when one call cannot carry them."""
    if len(items) > limit:
        raise ValueError(
            f"{method} takes at most {limit} items in one call: {len(items)}; "
            "cut the batch first (reconciler.plan.batching does for plans)"
        )
    return items


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

    @property
    def urgent(self) -> bool:
        """While set, this account's calls take the pacer's tokens before those of the other
        accounts of the replica (see :class:`~reconciler.people.pacing.AccountPacer`)."""
        return self.transport.buckets.urgent

    @urgent.setter
    def urgent(self, value: bool) -> None:
        self.transport.buckets.urgent = value

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
                people = await self._read_in_full(listing.people, person_fields)
                return replace(listing, people=people, pages=pages, restarts=attempt - 1)
            self.transport.log.info(
                "people.listing_shifted", attempt=attempt, incremental=sync_token is not None
            )
        raise ServerError(
            f"the address book changed under {LISTING_ATTEMPTS} listings in a row, so one "
            "could miss contacts; try again when edits settle",
            method="people.connections.list",
        )

    async def _read_in_full(
        self, people: list[Person], person_fields: str | Sequence[str]
    ) -> list[Person]:
        """``people`` with every person a listing may have cut read again in full.

        A listing shows at most :data:`MAX_LISTED_VALUES` values of each of
        :data:`LISTED_VALUE_FIELDS`; a person showing that many may have more, and diffing the
        cut copy would rewrite the contact on every pass. A person the read cannot return (gone
        meanwhile, or a failed item) keeps its listed copy: the plan then sees a stale etag at
        worst, never a missing contact.
        """
        cut = [
            str(person["resourceName"])
            for person in people
            if person.get("resourceName")
            and not (person.get("metadata") or {}).get("deleted")
            and any(len(person.get(f) or ()) >= MAX_LISTED_VALUES for f in LISTED_VALUE_FIELDS)
        ]
        if not cut:
            return people
        full: dict[str, Person] = {}
        for start in range(0, len(cut), MAX_BATCH_GET):
            results = await self.batch_get(cut[start : start + MAX_BATCH_GET], person_fields)
            full.update({name: r.person for name, r in results.items() if r.person is not None})
        self.transport.log.info("people.listing_completed", cut=len(cut), read=len(full))
        return [full.get(str(person.get("resourceName")), person) for person in people]

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

    async def address_book(self) -> str:
        """Whose address book this client writes: the signed-in user's resource name
        (``people/me`` resolved; for a service account, the subject it acts as). The account
        name above is only a label for logs and pacing; this is the identity."""
        me = await self.get_person("people/me", "metadata")
        return str(me.get("resourceName") or "")

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
        """``{requested name: result}`` in one call (at most 200 names); a missing contact is a
        per-item :class:`NotFound`."""
        names = _within(list(dict.fromkeys(resource_names)), MAX_BATCH_GET, "people.getBatchGet")
        if not names:
            return {}
        params = [("resourceNames", name) for name in names]
        params.append(("personFields", mask(person_fields)))
        answer = await self.transport.call(
            "people.getBatchGet", "GET", "v1/people:batchGet", params=params
        )
        results: dict[str, ItemResult] = {}
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
    #
    # Each sends exactly the batch it is given, as one call: the plan cut the batches (see
    # ``reconciler.plan.batching``) and the apply engine decides what happens to an item that
    # failed. The API rejects a whole call when some items are bad and names them; those get
    # their own error and every other item comes back :class:`NotApplied` (safe to send again).

    async def _one_call(
        self, keys: list[str], send: Send, *, by_position: bool
    ) -> dict[str, ItemResult]:
        """Send ``keys`` in one call; per-item results, or per-item errors of a rejection."""
        if not keys:
            return {}
        try:
            return await send(keys)
        except TERMINAL_FOR_ALL:
            raise
        except PeopleError as error:
            failed = item_errors(error, keys, by_position=by_position)
            self.transport.log.info(
                "people.batch_rejected",
                method=error.method,
                error=type(error).__name__,
                batch=len(keys),
                named=len(failed),
            )
            if not failed:
                return {key: ItemResult(key, error=error) for key in keys}
            rest = NotApplied(
                "not written: another item of the same batch call was refused",
                method=error.method,
            )
            return {key: ItemResult(key, error=failed.get(key, rest)) for key in keys}

    async def batch_create(
        self,
        people: Sequence[Mapping[str, Any]],
        read_mask: str | Sequence[str] = "metadata",
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> list[ItemResult]:
        """Create contacts in one call (at most 200); results in input order.

        A call whose answer was lost comes back as :class:`UnknownOutcome` items, and a 5xx as
        :class:`ServerError` items: either may have created the contacts, so list the address
        book before creating them again. ``before_send`` is awaited right before each attempt
        leaves, after any wait behind the pacer (a caller journals its intent there).
        """
        _within(people, MAX_BATCH_CREATE, "people.batchCreateContacts")
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
                before_send=before_send,
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

        indexes = [str(i) for i in range(len(people))]
        results = await self._one_call(indexes, send, by_position=True)
        return [results[key] for key in indexes]

    async def batch_update(
        self,
        people_by_name: Mapping[str, Mapping[str, Any]],
        update_mask: str | Sequence[str],
        read_mask: str | Sequence[str] = "metadata",
    ) -> dict[str, ItemResult]:
        """Update contacts in one call (at most 200; each person carries its etag); fields in
        ``update_mask`` are replaced whole. ``{resource name: result}``."""
        _within(people_by_name, MAX_BATCH_UPDATE, "people.batchUpdateContacts")
        update, read = mask(update_mask), mask(read_mask) or "metadata"

        async def send(keys: list[str]) -> dict[str, ItemResult]:
            body = {
                "contacts": {key: dict(people_by_name[key]) for key in keys},
                "updateMask": update,
                "readMask": read,
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
            for key in keys:
                response = updated.get(key) or {}
                status = response.get("status") or {}
                if status.get("code"):
                    out[key] = ItemResult(key, error=classify_status(status, resource=key))
                elif response.get("person"):
                    out[key] = ItemResult(key, person=response.get("person"))
                else:
                    error = ServerError("the server answered no person for this contact")
                    out[key] = ItemResult(key, error=error)
            return out

        return await self._one_call(list(people_by_name), send, by_position=False)

    async def batch_delete(self, resource_names: Sequence[str]) -> dict[str, ItemResult]:
        """Delete contacts in one call (at most 500; deletes carry no etag: re-read first)."""
        names = _within(
            list(dict.fromkeys(resource_names)), MAX_BATCH_DELETE, "people.batchDeleteContacts"
        )

        async def send(keys: list[str]) -> dict[str, ItemResult]:
            await self.transport.call(
                "people.batchDeleteContacts",
                "POST",
                "v1/people:batchDeleteContacts",
                body={"resourceNames": keys},
                write=True,
            )
            return {key: ItemResult(key) for key in keys}

        return await self._one_call(names, send, by_position=False)

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
