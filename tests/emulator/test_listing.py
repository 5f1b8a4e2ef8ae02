"""connections.list paging and sync tokens, contactGroups.list, and searchContacts."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.clock import ManualClock
from reconciler.emulator.store import SYSTEM_GROUPS

DAY = 24 * 3600.0


async def create_many(api: httpx.AsyncClient, n: int, prefix: str = "P") -> list[dict[str, Any]]:
    body = {
        "contacts": [
            {"contactPerson": {"names": [{"givenName": f"{prefix}{i}"}]}} for i in range(n)
        ],
        "readMask": "names",
    }
    response = await api.post("/v1/people:batchCreateContacts", json=body)
    assert response.status_code == 200, response.text
    return [entry["person"] for entry in response.json()["createdPeople"]]


async def list_all(
    api: httpx.AsyncClient, **params: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page of a listing: (people, raw pages)."""
    params = {"personFields": "names", **params}
    pages: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        query = dict(params, **({"pageToken": token} if token else {}))
        response = await api.get("/v1/people/me/connections", params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        token = pages[-1].get("nextPageToken")
        if not token:
            break
    return [p for page in pages for p in page.get("connections", [])], pages


async def test_paging_covers_everyone_once(api: httpx.AsyncClient) -> None:
    """Pages of pageSize cover every contact exactly once; the default page is 100."""
    created = await create_many(api, 25)
    people, pages = await list_all(api, pageSize="10")
    assert [len(p.get("connections", [])) for p in pages] == [10, 10, 5]
    assert sorted(p["resourceName"] for p in people) == sorted(p["resourceName"] for p in created)
    assert pages[0]["totalPeople"] == 25
    await create_many(api, 80)
    _people, pages = await list_all(api)
    assert [len(p["connections"]) for p in pages] == [100, 5]
    _people, pages = await list_all(api, pageSize="0")
    assert len(pages) == 2


async def test_sync_token_only_on_the_last_page(api: httpx.AsyncClient) -> None:
    """nextSyncToken comes only on the last page, and only when requested."""
    await create_many(api, 5)
    _people, pages = await list_all(api, pageSize="2", requestSyncToken="true")
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    _people, pages = await list_all(api)
    assert "nextSyncToken" not in pages[-1]


async def test_incremental_sync_returns_changes_and_tombstones(api: httpx.AsyncClient) -> None:
    """After a full sync, the token yields changed people and deleted ones as tombstones."""
    a, b, c = await create_many(api, 3)
    _people, pages = await list_all(api, requestSyncToken="true")
    token = pages[-1]["nextSyncToken"]
    changes, pages = await list_all(api, syncToken=token, requestSyncToken="true")
    assert changes == []
    token = pages[-1]["nextSyncToken"]
    response = await api.patch(
        f"/v1/{a['resourceName']}:updateContact",
        params={"updatePersonFields": "names"},
        json={"etag": a["etag"], "names": [{"givenName": "Renamed"}]},
    )
    assert response.status_code == 200
    assert (await api.delete(f"/v1/{b['resourceName']}:deleteContact")).status_code == 200
    new = (await create_many(api, 1, "New"))[0]
    changes, pages = await list_all(api, syncToken=token, requestSyncToken="true")
    by_name = {p["resourceName"]: p for p in changes}
    assert set(by_name) == {a["resourceName"], b["resourceName"], new["resourceName"]}
    assert by_name[a["resourceName"]]["names"][0]["givenName"] == "Renamed"
    assert by_name[b["resourceName"]]["metadata"] == {"deleted": True}
    assert set(by_name[b["resourceName"]]) == {"resourceName", "etag", "metadata"}
    assert c["resourceName"] not in by_name
    again, _ = await list_all(api, syncToken=pages[-1]["nextSyncToken"])
    assert again == []


async def test_page_tokens_require_the_same_parameters(api: httpx.AsyncClient) -> None:
    """With a pageToken, every other parameter must match the first call."""
    await create_many(api, 3)
    first = await api.get(
        "/v1/people/me/connections", params={"personFields": "names", "pageSize": "1"}
    )
    token = first.json()["nextPageToken"]
    changed = await api.get(
        "/v1/people/me/connections",
        params={"personFields": "names,emailAddresses", "pageSize": "1", "pageToken": token},
    )
    assert changed.status_code == 400
    assert "must match the first call" in changed.json()["error"]["message"]


async def test_sync_token_requires_the_same_parameters(api: httpx.AsyncClient) -> None:
    """A syncToken replayed with another personFields mask is refused."""
    _people, pages = await list_all(api, requestSyncToken="true")
    token = pages[-1]["nextSyncToken"]
    response = await api.get(
        "/v1/people/me/connections", params={"personFields": "emailAddresses", "syncToken": token}
    )
    assert response.status_code == 400


async def test_sync_tokens_expire_seven_days_after_the_full_sync(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    """Incremental syncs work for 7 days, then fail with 400 and EXPIRED_SYNC_TOKEN."""
    _people, pages = await list_all(api, requestSyncToken="true")
    token = pages[-1]["nextSyncToken"]
    clock.advance(6 * DAY)
    _people, pages = await list_all(api, syncToken=token, requestSyncToken="true")
    token = pages[-1]["nextSyncToken"]
    clock.advance(1.5 * DAY)
    response = await api.get(
        "/v1/people/me/connections",
        params={"personFields": "names", "syncToken": token, "requestSyncToken": "true"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "FAILED_PRECONDITION"
    assert error["message"] == (
        "Sync token is expired. Clear local cache and retry call without the sync token."
    )
    assert error["details"][0]["reason"] == "EXPIRED_SYNC_TOKEN"
    assert error["details"][0]["domain"] == "people.googleapis.com"


async def test_tokens_belong_to_their_user(api: httpx.AsyncClient, app: Any) -> None:
    """Another user's sync token is invalid."""
    _people, pages = await list_all(api, requestSyncToken="true")
    token = pages[-1]["nextSyncToken"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://e",
        headers={"Authorization": "Bearer user:mallory@example.com"},
    ) as other:
        response = await other.get(
            "/v1/people/me/connections", params={"personFields": "names", "syncToken": token}
        )
    assert response.status_code == 400


async def test_sort_orders(api: httpx.AsyncClient) -> None:
    """FIRST_NAME_ASCENDING sorts by given name; LAST_MODIFIED_DESCENDING newest first."""
    for name in ["Carol", "alice", "Bob"]:
        await create_many(api, 1, name)
    people, _ = await list_all(api, sortOrder="FIRST_NAME_ASCENDING")
    assert [p["names"][0]["givenName"] for p in people] == ["alice0", "Bob0", "Carol0"]
    people, _ = await list_all(api, sortOrder="LAST_MODIFIED_DESCENDING")
    assert [p["names"][0]["givenName"] for p in people] == ["Bob0", "alice0", "Carol0"]


async def test_listings_cap_emails_and_phones_at_100(api: httpx.AsyncClient) -> None:
    """connections.list returns at most 100 emails and phones per person; get returns all."""
    person = {"emailAddresses": [{"value": f"a{i}@example.com"} for i in range(120)]}
    created = (await api.post("/v1/people:createContact", json=person)).json()
    people, _ = await list_all(api, personFields="emailAddresses")
    assert len(people[0]["emailAddresses"]) == 100
    got = await api.get(f"/v1/{created['resourceName']}", params={"personFields": "emailAddresses"})
    assert len(got.json()["emailAddresses"]) == 120


async def test_contact_groups_list_and_sync(api: httpx.AsyncClient) -> None:
    """contactGroups.list pages (default 30) and returns changes and deletions by sync token."""
    first = await api.get("/v1/contactGroups")
    body = first.json()
    assert [g["resourceName"] for g in body["contactGroups"]] == list(SYSTEM_GROUPS)
    token = body["nextSyncToken"]
    made = [
        (await api.post("/v1/contactGroups", json={"contactGroup": {"name": f"G{i}"}})).json()
        for i in range(31)
    ]
    page = (await api.get("/v1/contactGroups")).json()
    assert len(page["contactGroups"]) == 30
    assert page["totalItems"] == len(SYSTEM_GROUPS) + 31
    assert "nextPageToken" in page
    assert (await api.delete(f"/v1/{made[0]['resourceName']}")).status_code == 200
    changes = (
        await api.get("/v1/contactGroups", params={"syncToken": token, "pageSize": "1000"})
    ).json()
    names = {g["resourceName"]: g for g in changes["contactGroups"]}
    assert len(names) == 31
    assert names[made[0]["resourceName"]]["metadata"] == {"deleted": True}


async def test_group_members_and_counts(api: httpx.AsyncClient) -> None:
    """members:modify adds members; get with maxMembers lists them; delete keeps contacts."""
    people = await create_many(api, 3)
    group = (await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})).json()
    body = {"resourceNamesToAdd": [p["resourceName"] for p in people]}
    assert (await api.post(f"/v1/{group['resourceName']}/members:modify", json=body)).json() == {}
    got = (await api.get(f"/v1/{group['resourceName']}", params={"maxMembers": "10"})).json()
    assert got["memberCount"] == 3
    assert sorted(got["memberResourceNames"]) == sorted(p["resourceName"] for p in people)
    assert (await api.delete(f"/v1/{group['resourceName']}")).status_code == 200
    remaining, _ = await list_all(api, personFields="memberships")
    assert len(remaining) == 3
    group = (await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})).json()
    await api.post(f"/v1/{group['resourceName']}/members:modify", json=body)
    response = await api.delete(f"/v1/{group['resourceName']}", params={"deleteContacts": "true"})
    assert response.status_code == 200
    remaining, _ = await list_all(api)
    assert remaining == []


async def search(api: httpx.AsyncClient, query: str, **params: str) -> list[dict[str, Any]]:
    response = await api.get(
        "/v1/people:searchContacts", params={"query": query, "readMask": "names", **params}
    )
    assert response.status_code == 200, response.text
    return [r["person"] for r in response.json().get("results", [])]


async def test_search_needs_a_warm_up_then_matches_prefixes(api: httpx.AsyncClient) -> None:
    """Before a warm-up with an empty query nothing is found; after it, prefix-phrase matches."""
    body = {
        "names": [{"givenName": "Jane", "familyName": "Doe"}],
        "emailAddresses": [{"value": "jd@example.com"}],
        "phoneNumbers": [{"value": "+1 650 555 0100"}],
        "organizations": [{"name": "Acme Rockets"}],
    }
    assert (await api.post("/v1/people:createContact", json=body)).status_code == 200
    assert await search(api, "jane") == []
    assert await search(api, "") == []
    for query in ["jane", "Ja D", "doe", "jd@ex", "acme roc", "rockets", "650555", "+1650"]:
        assert len(await search(api, query)) == 1, query
    for query in ["ane", "jane x", "doe jane", "zzz", "555 9"]:
        assert await search(api, query) == [], query


async def test_search_page_size_is_capped_at_30(api: httpx.AsyncClient) -> None:
    """pageSize defaults to 10 and is silently capped at 30."""
    await create_many(api, 40, "Sam")
    await search(api, "")
    assert len(await search(api, "sam")) == 10
    assert len(await search(api, "sam", pageSize="100")) == 30
