"""Full listings read while the address book changes between page requests."""

from __future__ import annotations

import random
from typing import Any

import httpx
from starlette.applications import Starlette

from reconciler.people.client import PeopleClient
from reconciler.people.clock import ManualClock
from reconciler.people.transport import ClientConfig, Transport
from tests.people.conftest import BASE_URL, person

USER = "tester@example.com"
FIELDS = "names,emailAddresses,metadata"


class EditAfterFirstPage(httpx.AsyncBaseTransport):
    """Delivers requests to the app; once the first listing page is answered, a person on a
    phone edits ``edit["resourceName"]`` through the emulator's admin surface."""

    def __init__(self, app: Starlette, clock: ManualClock) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.clock = clock
        self.edit: dict[str, Any] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.edit is not None and request.url.path.endswith("/people/me/connections"):
            edit, self.edit = self.edit, None
            self.clock.advance(1.0)
            async with httpx.AsyncClient(transport=self.inner, base_url=BASE_URL) as admin:
                answer = await admin.post("/__emulator/edit", json=edit)
                answer.raise_for_status()
        return response


async def test_a_contact_edited_between_pages_is_listed_once_newest_copy(
    app: Starlette, clock: ManualClock
) -> None:
    """An edit between two page requests moves the contact behind the cursor, so the server
    lists it again on a later page; the listing keeps only that later, newer copy."""
    transport = EditAfterFirstPage(app, clock)
    http = httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"Authorization": f"Bearer user:{USER}"}
    )
    config = ClientConfig(page_size=2)
    async with http:
        client = PeopleClient(
            Transport(http, account=USER, config=config, clock=clock, rng=random.Random(7))
        )
        created = await client.batch_create([person(i) for i in range(5)], FIELDS)
        first = str(created[0].resource_name)
        transport.edit = {
            "user": USER,
            "resourceName": first,
            "person": {"names": [{"givenName": "Edited", "familyName": "Elsewhere"}]},
            "updatePersonFields": "names",
        }
        listing = await client.list_people(FIELDS)

    assert transport.edit is None  # the edit did happen mid-listing
    names = [p["resourceName"] for p in listing.people]
    assert len(names) == len(set(names))
    copy = next(p for p in listing.people if p["resourceName"] == first)
    assert copy["names"][0]["givenName"] == "Edited"
    assert copy["etag"] != created[0].person["etag"]  # type: ignore[index]
