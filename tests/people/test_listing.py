"""Listings read while the address book changes between page requests.

Pages are offsets into a list ordered by last change, so an edit or a deletion behind the
cursor shifts the rest: the client must neither list a contact twice nor miss one.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.people.client import LISTING_ATTEMPTS, PeopleClient
from reconciler.people.errors import ServerError
from reconciler.people.transport import ClientConfig, Transport
from tests.support.clients import BASE_URL
from tests.support.persons import new_person

USER = "tester@example.com"
FIELDS = "names,emailAddresses,metadata"


class ChangesBetweenPages(httpx.AsyncBaseTransport):
    """Delivers requests to the app; after each answered listing page, a person on a phone
    makes the next queued change (an edit or a deletion) through the emulator."""

    def __init__(self, app: Starlette, clock: ManualClock) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.clock = clock
        self.changes: list[tuple[str, str]] = []  # (kind, resourceName)
        self.made = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.changes and request.url.path.endswith("/people/me/connections"):
            await response.aread()
            kind, name = self.changes.pop(0)
            self.clock.advance(1.0)
            async with httpx.AsyncClient(transport=self.inner, base_url=BASE_URL) as other:
                if kind == "edit":
                    answer = await other.post("/__emulator/edit", json=edit_body(name, self.made))
                else:
                    answer = await other.delete(
                        f"/v1/{name}:deleteContact",
                        headers={"Authorization": f"Bearer user:{USER}"},
                    )
                answer.raise_for_status()
            self.made += 1
        return response


def edit_body(name: str, n: int) -> dict[str, Any]:
    return {
        "user": USER,
        "resourceName": name,
        "person": {"names": [{"givenName": f"Edited{n}", "familyName": "Elsewhere"}]},
        "updatePersonFields": "names",
    }


@pytest.fixture
async def book(
    app: Starlette, clock: ManualClock
) -> AsyncIterator[tuple[PeopleClient, ChangesBetweenPages, list[str]]]:
    """A client listing two contacts a page, its transport, and five contacts, oldest first."""
    transport = ChangesBetweenPages(app, clock)
    headers = {"Authorization": f"Bearer user:{USER}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers) as http:
        client = PeopleClient(
            Transport(
                http,
                account=USER,
                config=ClientConfig(page_size=2),
                clock=clock,
                rng=random.Random(7),
            )
        )
        created = await client.batch_create([new_person(i) for i in range(5)], FIELDS)
        yield client, transport, [str(result.resource_name) for result in created]


async def test_a_contact_edited_between_pages_is_listed_once_and_none_is_missed(
    book: tuple[PeopleClient, ChangesBetweenPages, list[str]],
) -> None:
    """An edit behind the cursor lists that contact again and skips the next one; the client
    sees the repeat, reads again, and returns every contact once, the edited one newest."""
    client, transport, names = book
    transport.changes = [("edit", names[0])]
    listing = await client.list_people(FIELDS)
    assert transport.made == 1
    listed = [p["resourceName"] for p in listing.people]
    assert sorted(listed) == sorted(names)
    edited = next(p for p in listing.people if p["resourceName"] == names[0])
    assert edited["names"][0]["givenName"] == "Edited0"
    assert listing.restarts == 1
    assert listing.pages == 3 + 3


async def test_a_contact_deleted_between_pages_does_not_hide_another(
    book: tuple[PeopleClient, ChangesBetweenPages, list[str]],
) -> None:
    """A deletion behind the cursor shrinks the total; the client reads again, so the contact
    that moved onto the page already read is still listed."""
    client, transport, names = book
    transport.changes = [("delete", names[0])]
    listing = await client.list_people(FIELDS)
    assert sorted(p["resourceName"] for p in listing.people) == sorted(names[1:])
    assert listing.restarts == 1


async def test_an_incremental_listing_reads_again_when_a_change_moves_past_it(
    book: tuple[PeopleClient, ChangesBetweenPages, list[str]], clock: ManualClock
) -> None:
    """A change re-edited while the changes are paged leaves the list; the page after would
    skip another change, so the sync is read again from the same token."""
    client, transport, names = book
    full = await client.list_people(FIELDS)
    clock.advance(1.0)
    changed = await client.batch_update(
        {
            n: {**p, "names": [{"givenName": "Synced"}]}
            for p in full.people
            if (n := p["resourceName"]) in names[:4]
        },
        "names",
        FIELDS,
    )
    assert all(result.ok for result in changed.values())
    transport.changes = [("edit", names[0])]
    delta = await client.list_people(FIELDS, sync_token=full.next_sync_token)
    assert {p["resourceName"] for p in delta.people} >= set(names[1:4])
    assert delta.restarts == 1


async def test_a_book_that_never_settles_is_refused_not_half_listed(
    book: tuple[PeopleClient, ChangesBetweenPages, list[str]],
) -> None:
    """If every read is shifted, the client raises instead of returning a listing that may
    miss contacts (and make the planner create them again)."""
    client, transport, names = book
    transport.changes = [("edit", names[i % len(names)]) for i in range(3 * LISTING_ATTEMPTS)]
    with pytest.raises(ServerError, match="changed under"):
        await client.list_people(FIELDS)
