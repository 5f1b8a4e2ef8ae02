"""Incremental polling against the in-process emulator: changes become keys, cheaply.

The poller starts from the sync token of a pass's own full listing (``PassGateway``), as in the
controller: it never lists the whole book itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from reconciler.clock import ManualClock
from reconciler.controller.gateway import PassGateway
from reconciler.controller.polling import LivePoller
from reconciler.emulator import create_app
from reconciler.people import connect
from reconciler.people.client import PeopleClient
from tests.support.pacing import UNPACED
from tests.support.persons import stamped

OWNER = "repo-x"


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(emulator_clock: ManualClock) -> Any:
    return create_app(clock=emulator_clock)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[PeopleClient]:
    async with connect(
        "embedded", app=app, token="user:alice@example.com", config=UNPACED
    ) as people:
        yield people


async def create(client: PeopleClient, *people: dict[str, Any]) -> list[str]:
    results = await client.batch_create(list(people))
    return [str(r.person["resourceName"]) for r in results if r.person is not None]


async def edit(app: Any, resource_name: str, given: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as admin:
        answer = await admin.post(
            "/__emulator/edit",
            json={
                "user": "alice@example.com",
                "resourceName": resource_name,
                "person": {"names": [{"givenName": given}]},
                "updatePersonFields": "names",
            },
        )
        answer.raise_for_status()


def listings(client: PeopleClient) -> int:
    return int(client.stats.requests["people.connections.list"])


async def pass_listing(poller: LivePoller) -> None:
    """The full listing a pass reads the book with, through the account's index."""
    await PassGateway(poller.client, OWNER, poller.written).list_people()  # type: ignore[arg-type]


async def test_a_quiet_address_book_costs_one_list_call_per_poll(client: PeopleClient) -> None:
    """After a pass's listing, a poll with nothing changed is one incremental call and finds no
    keys; before any listing there is nothing to poll from, and the poller sends nothing."""
    await create(client, stamped("jane", OWNER), stamped("joe", OWNER))
    poller = LivePoller(client, OWNER)
    assert (await poller.poll()).resync
    assert listings(client) == 0
    await pass_listing(poller)
    assert poller.token is not None
    assert poller.known == 2
    before = listings(client)
    for _ in range(3):
        assert (await poller.poll()).keys == frozenset()
    assert listings(client) - before == 3


async def test_an_out_of_band_edit_becomes_the_contacts_key(client: PeopleClient, app: Any) -> None:
    """An edit made behind the controller's back is reported by manifest name."""
    jane, _ = await create(client, stamped("jane", OWNER), stamped("joe", OWNER))
    poller = LivePoller(client, OWNER)
    await pass_listing(poller)
    await edit(app, jane, "Janet")
    assert (await poller.poll()).keys == {"jane"}
    assert (await poller.poll()).keys == frozenset()


async def test_a_deleted_contact_is_reported_by_the_key_it_had(client: PeopleClient) -> None:
    """A tombstone carries no stamp; the poller remembers whose it was."""
    jane, _ = await create(client, stamped("jane", OWNER), stamped("joe", OWNER))
    poller = LivePoller(client, OWNER)
    await pass_listing(poller)
    await client.batch_delete([jane])
    assert (await poller.poll()).keys == {"jane"}


async def test_contacts_of_other_owners_are_not_our_business(client: PeopleClient) -> None:
    """Changes to unstamped or foreign-owned contacts produce no keys."""
    poller = LivePoller(client, OWNER)
    await pass_listing(poller)
    await create(client, stamped("theirs", "someone-else"), {"names": [{"givenName": "X"}]})
    mine = await create(client, stamped("mine", OWNER))
    found = await poller.poll()
    assert found.keys == {"mine"}
    assert mine


async def test_an_expired_token_asks_for_a_full_resync(
    client: PeopleClient, emulator_clock: ManualClock
) -> None:
    """A sync token older than seven days makes the poll request a full pass, whose listing
    takes a fresh token: the poller lists nothing in full itself."""
    await create(client, stamped("jane", OWNER))
    poller = LivePoller(client, OWNER)
    await pass_listing(poller)
    emulator_clock.advance(8 * 24 * 3600)
    before = listings(client)
    found = await poller.poll()
    assert found.resync
    assert poller.token is None
    assert listings(client) - before == 1  # the refused incremental call only
    await pass_listing(poller)
    assert poller.token is not None
    assert (await poller.poll()).keys == frozenset()


async def test_resource_names_of_keys_are_known_only_when_unambiguous(
    client: PeopleClient,
) -> None:
    """Keys map to their one live copy; an unknown or duplicated key gives no answer."""
    jane, joe = await create(client, stamped("jane", OWNER), stamped("joe", OWNER))
    poller = LivePoller(client, OWNER)
    await pass_listing(poller)
    assert poller.resource_names(["jane", "joe"]) == {"jane": jane, "joe": joe}
    assert poller.resource_names(["jane", "nobody"]) is None
    await create(client, stamped("jane", OWNER))
    await poller.poll()
    assert poller.resource_names(["jane"]) is None
    assert poller.resource_names(["joe"]) == {"joe": joe}
