"""Listings cut emails and phone numbers at 100 per person; the client reads such persons whole.

Google's Person reference: for people.connections.list the number of email addresses (and of
phone numbers) is limited to 100, and the entire set is obtained with GetPeople. The client does
that, once per 200 such persons, for full and incremental listings alike, so no caller ever sees
a cut field.
"""

from __future__ import annotations

from reconciler.model.limits import MAX_LISTED_VALUES
from reconciler.people.client import PeopleClient
from tests.support.persons import new_person

FIELDS = "names,emailAddresses,phoneNumbers,metadata"


def emails(n: int) -> list[dict[str, str]]:
    return [{"value": f"a{i}@example.com"} for i in range(n)]


async def test_a_full_listing_returns_every_value(client: PeopleClient) -> None:
    """A person with 150 emails lists with 150, through one getBatchGet; one with 99 needs none."""
    await client.batch_create([new_person(1, emailAddresses=emails(150)), new_person(2)], FIELDS)
    listing = await client.list_people(FIELDS)
    counts = sorted(len(p["emailAddresses"]) for p in listing.people)
    assert counts == [1, 150]
    assert client.stats.requests["people.getBatchGet"] == 1


async def test_exactly_the_cut_is_read_again_and_below_it_is_not(client: PeopleClient) -> None:
    """A listing showing exactly 100 values may have cut more: read again; 99 is whole."""
    await client.batch_create([new_person(1, emailAddresses=emails(MAX_LISTED_VALUES - 1))], FIELDS)
    await client.list_people(FIELDS)
    assert client.stats.requests["people.getBatchGet"] == 0
    await client.batch_create([new_person(2, emailAddresses=emails(MAX_LISTED_VALUES))], FIELDS)
    listing = await client.list_people(FIELDS)
    assert sorted(len(p["emailAddresses"]) for p in listing.people) == [99, 100]
    assert client.stats.requests["people.getBatchGet"] == 1


async def test_an_incremental_listing_returns_every_value(client: PeopleClient) -> None:
    """A change seen through a sync token is read whole too."""
    first = await client.list_people(FIELDS)
    await client.batch_create(
        [new_person(1, phoneNumbers=[{"value": f"+1 650 555 {i:04d}"} for i in range(120)])], FIELDS
    )
    changes = await client.list_people(FIELDS, sync_token=first.next_sync_token)
    (changed,) = changes.people
    assert len(changed["phoneNumbers"]) == 120
