"""Client operations against the in-process emulator: listings, sync tokens, batch writes."""

from __future__ import annotations

import pytest

from reconciler.clock import ManualClock
from reconciler.people.client import PeopleClient
from reconciler.people.errors import (
    Conflict,
    InvalidArgument,
    NotFound,
    StaleEtag,
    SyncTokenExpired,
)
from tests.support.persons import new_person

FIELDS = "names,emailAddresses,metadata"


async def seed(client: PeopleClient, n: int) -> list[str]:
    results = await client.batch_create([new_person(i) for i in range(n)], FIELDS)
    assert all(result.ok for result in results)
    return [str(result.resource_name) for result in results]


async def test_a_full_listing_reads_every_page_and_returns_a_sync_token(
    client: PeopleClient,
) -> None:
    """2,500 contacts come back in ceil(2500/1000) pages with a sync token on the last."""
    names = await seed(client, 2500)
    assert client.stats.requests["people.batchCreateContacts"] == 13
    listing = await client.list_people(["names", "metadata"])
    assert listing.complete
    assert listing.pages == 3
    assert client.stats.requests["people.connections.list"] == 3
    assert sorted(p["resourceName"] for p in listing.people) == sorted(names)
    assert listing.next_sync_token


async def test_incremental_listing_returns_changes_and_tombstones(client: PeopleClient) -> None:
    """After a sync token, only what changed comes back; deletions as tombstones."""
    names = await seed(client, 5)
    full = await client.list_people(FIELDS)
    current = {p["resourceName"]: p for p in full.people}
    changed = dict(current[names[0]], names=[{"givenName": "Renamed"}])
    await client.batch_update({names[0]: changed}, "names", FIELDS)
    await client.batch_delete([names[1]])
    delta = await client.list_people(FIELDS, sync_token=full.next_sync_token)
    assert delta.incremental
    by_name = {p["resourceName"]: p for p in delta.people}
    assert set(by_name) == {names[0], names[1]}
    assert by_name[names[0]]["names"][0]["givenName"] == "Renamed"
    assert delta.deleted == [names[1]]
    assert delta.next_sync_token


async def test_sync_token_expiry_then_full_resync(client: PeopleClient, clock: ManualClock) -> None:
    """An expired token raises SyncTokenExpired; a full listing then recovers everything."""
    names = await seed(client, 3)
    full = await client.list_people(FIELDS)
    clock.advance(8 * 24 * 3600)
    with pytest.raises(SyncTokenExpired) as expired:
        await client.list_people(FIELDS, sync_token=full.next_sync_token)
    assert expired.value.status == 400
    assert not expired.value.retryable
    resync = await client.list_people(FIELDS)
    assert sorted(p["resourceName"] for p in resync.people) == sorted(names)
    assert resync.next_sync_token
    assert client.stats.by_method_status[("people.connections.list", "400")] == 1


async def test_batch_get_chunks_by_200_and_reports_missing_items(client: PeopleClient) -> None:
    """450 names take three getBatchGet calls; an unknown name is a per-item NotFound."""
    names = await seed(client, 449)
    results = await client.batch_get([*names, "people/c999999999"], FIELDS)
    assert client.stats.requests["people.getBatchGet"] == 3
    assert all(results[name].ok for name in names)
    assert isinstance(results["people/c999999999"].error, NotFound)


async def test_batch_update_isolates_failing_items_and_returns_fresh_etags(
    client: PeopleClient,
) -> None:
    """A stale etag and a missing contact fail alone; the rest are written, with new etags."""
    names = await seed(client, 5)
    fresh = {p["resourceName"]: p for p in (await client.list_people(FIELDS)).people}
    bodies = {name: dict(fresh[name], names=[{"givenName": f"New {name}"}]) for name in names}
    bodies[names[1]]["etag"] = "%EgYBAgMuNz0aBAECBQc="
    del bodies[names[1]]["metadata"]  # its source etag would count as current
    bodies["people/c424242"] = {"etag": "x", "names": [{"givenName": "Ghost"}]}
    results = await client.batch_update(bodies, "names", FIELDS)
    assert isinstance(results[names[1]].error, StaleEtag)
    assert isinstance(results["people/c424242"].error, NotFound)
    written = [names[0], *names[2:]]
    assert all(results[name].ok for name in written)
    assert all(results[name].etag != fresh[name]["etag"] for name in written)
    assert client.stats.requests["people.batchUpdateContacts"] == 2

    # read-your-writes: chaining the returned etag succeeds without a fresh read
    again = {
        name: dict(results[name].person or {}, names=[{"givenName": "Third"}]) for name in written
    }
    assert all(r.ok for r in (await client.batch_update(again, "names", FIELDS)).values())


async def test_batch_create_narrows_an_unattributed_rejection_down_to_the_bad_item(
    client: PeopleClient,
) -> None:
    """A rejected chunk that names no item is halved until the bad contact stands alone."""
    people = [new_person(i) for i in range(8)]
    # names is a singleton
    people[5] = new_person(5, names=[{"givenName": "A"}, {"givenName": "B"}])
    results = await client.batch_create(people, FIELDS)
    assert [r.ok for r in results] == [True] * 5 + [False] + [True] * 2
    assert isinstance(results[5].error, InvalidArgument)
    assert all(r.resource_name and r.etag for r in results if r.ok)
    listing = await client.list_people(FIELDS)
    assert len(listing.people) == 7


async def test_batch_delete_skips_missing_contacts(client: PeopleClient) -> None:
    """An unknown name fails alone; the others are deleted."""
    names = await seed(client, 3)
    results = await client.batch_delete([*names, "people/c77777"])
    assert isinstance(results["people/c77777"].error, NotFound)
    assert all(results[name].ok for name in names)
    assert (await client.list_people(FIELDS)).people == []


async def test_single_writes_chain_etags(client: PeopleClient) -> None:
    """createContact/updateContact return the person and etag the server holds."""
    created = await client.create_contact(new_person(1), FIELDS)
    updated = await client.update_contact(
        dict(created, names=[{"givenName": "Z"}]), "names", FIELDS
    )
    assert updated["etag"] != created["etag"]
    again = await client.update_contact(dict(updated, names=[{"givenName": "Y"}]), "names")
    assert again["resourceName"] == created["resourceName"]
    fetched = await client.get_person(created["resourceName"], FIELDS)
    assert fetched["names"][0]["givenName"] == "Y"
    await client.delete_contact(created["resourceName"])


async def test_group_lifecycle_and_members(client: PeopleClient) -> None:
    """Create, update with the returned etag, conflict on a stale one, modify members, delete."""
    names = await seed(client, 3)
    group = await client.create_group(
        "Sales", client_data=[{"key": "reconciler.owner", "value": "repo"}]
    )
    with pytest.raises(Conflict) as duplicate:
        await client.create_group("Sales")
    assert duplicate.value.status == 409
    renamed = await client.update_group(dict(group, name="Sales EMEA"))
    assert renamed["name"] == "Sales EMEA"
    with pytest.raises(Conflict, match="outdated"):
        await client.update_group(dict(group, name="stale"))
    outcome = await client.modify_members(
        group["resourceName"], add=[*names, "people/c5555"], remove=[]
    )
    assert outcome["notFoundResourceNames"] == ["people/c5555"]
    listed = {g["resourceName"]: g for g in await client.list_groups()}
    assert listed[group["resourceName"]]["memberCount"] == 3
    assert "contactGroups/myContacts" in listed
    await client.modify_members(group["resourceName"], remove=names[:1])
    assert (await client.get_group(group["resourceName"]))["memberCount"] == 2
    await client.delete_group(group["resourceName"])
    assert group["resourceName"] not in {g["resourceName"] for g in await client.list_groups()}
