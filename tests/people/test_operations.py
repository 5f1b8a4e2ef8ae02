"""Client operations against the in-process emulator: listings, sync tokens, batch writes."""

from __future__ import annotations

import pytest

from reconciler.clock import ManualClock
from reconciler.model.limits import MAX_BATCH_CREATE
from reconciler.people.batching import chunks
from reconciler.people.client import PeopleClient
from reconciler.people.errors import (
    Conflict,
    InvalidArgument,
    NotApplied,
    NotFound,
    StaleEtag,
    SyncTokenExpired,
)
from tests.support.persons import new_person

FIELDS = "names,emailAddresses,metadata"


async def seed(client: PeopleClient, n: int) -> list[str]:
    """``n`` contacts, 200 to a call (the client sends each batch it is given as one call)."""
    results = []
    for batch in chunks([new_person(i) for i in range(n)], MAX_BATCH_CREATE):
        results += await client.batch_create(batch, FIELDS)
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


async def test_batch_get_is_one_call_and_reports_missing_items(client: PeopleClient) -> None:
    """200 names take one getBatchGet call; an unknown name is a per-item NotFound."""
    names = await seed(client, 199)
    results = await client.batch_get([*names, "people/c999999999"], FIELDS)
    assert client.stats.requests["people.getBatchGet"] == 1
    assert all(results[name].ok for name in names)
    assert isinstance(results["people/c999999999"].error, NotFound)


async def test_a_batch_over_the_api_limit_is_refused_before_anything_is_sent(
    client: PeopleClient,
) -> None:
    """The client sends what it is given and never cuts a batch itself: 201 creates, 201
    names to read or 501 deletes are a caller's mistake, named, with nothing sent."""
    with pytest.raises(ValueError, match="batchCreateContacts takes at most 200 items"):
        await client.batch_create([new_person(i) for i in range(201)], FIELDS)
    with pytest.raises(ValueError, match="getBatchGet takes at most 200"):
        await client.batch_get([f"people/c{i}" for i in range(201)], FIELDS)
    with pytest.raises(ValueError, match="batchDeleteContacts takes at most 500"):
        await client.batch_delete([f"people/c{i}" for i in range(501)])
    assert client.stats.total == 0


async def test_batch_update_names_failing_items_and_returns_fresh_etags(
    client: PeopleClient,
) -> None:
    """One call: a stale etag and a missing contact get their own errors and the rest come
    back not applied; sent again without the failing two, they are written, with new etags."""
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
    assert all(isinstance(results[name].error, NotApplied) for name in written)
    assert client.stats.requests["people.batchUpdateContacts"] == 1
    results = await client.batch_update({n: bodies[n] for n in written}, "names", FIELDS)
    assert all(results[name].ok for name in written)
    assert all(results[name].etag != fresh[name]["etag"] for name in written)
    assert client.stats.requests["people.batchUpdateContacts"] == 2

    # read-your-writes: chaining the returned etag succeeds without a fresh read
    again = {
        name: dict(results[name].person or {}, names=[{"givenName": "Third"}]) for name in written
    }
    assert all(r.ok for r in (await client.batch_update(again, "names", FIELDS)).values())


async def test_a_rejected_batch_create_is_one_call_and_creates_nothing(
    client: PeopleClient,
) -> None:
    """A call rejected for one bad contact (``names`` is a singleton) is sent once, never
    narrowed down by the client: the bad contact has its error, the rest are not applied and
    nothing exists (the apply engine sends those again; see ``tests/apply``)."""
    people = [new_person(i) for i in range(8)]
    people[5] = new_person(
        5, names=[{"givenName": "A"}, {"givenName": "B"}]
    )  # names is a singleton
    results = await client.batch_create(people, FIELDS)
    assert isinstance(results[5].error, InvalidArgument)
    assert all(isinstance(r.error, InvalidArgument | NotApplied) for r in results)
    assert client.stats.requests["people.batchCreateContacts"] == 1
    assert (await client.list_people(FIELDS)).people == []


async def test_batch_delete_names_missing_contacts(client: PeopleClient) -> None:
    """An unknown name has its own NotFound and the others are not applied; sent again
    without it, they are deleted."""
    names = await seed(client, 3)
    results = await client.batch_delete([*names, "people/c77777"])
    assert isinstance(results["people/c77777"].error, NotFound)
    assert all(isinstance(results[name].error, NotApplied) for name in names)
    results = await client.batch_delete(names)
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
