"""The /__emulator/ admin surface: reset, config, edit, dump and stats."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.emulator import Emulator
from reconciler.emulator.store import SYSTEM_GROUPS


async def create(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post("/v1/people:createContact", json={"names": [{"givenName": "Jane"}]})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_config_get_and_patch(api: httpx.AsyncClient, emulator: Emulator) -> None:
    """GET shows every knob; PATCH changes only the ones given and answers the result."""
    config = (await api.get("/__emulator/config")).json()
    assert config["error_rate"] == 0
    assert set(config) >= {
        "latency_ms",
        "error_rate",
        "read_quota_per_minute",
        "write_quota_per_minute",
        "read_lag_ms",
        "sync_delay_ms",
        "list_lag_ms",
        "spurious_etag_rate",
        "editor_rate",
        "seed",
        "default_region",
    }
    response = await api.patch("/__emulator/config", json={"read_lag_ms": 100, "seed": 3})
    assert response.status_code == 200
    assert response.json()["read_lag_ms"] == 100
    assert response.json()["latency_ms"] == 0
    assert emulator.config.seed == 3


async def test_reset_forgets_everything_but_the_knobs(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """After a reset there are no contacts and no statistics; the knobs are kept."""
    await create(api)
    await api.patch("/__emulator/config", json={"latency_ms": 1})
    emulator.faults.sleep = _no_sleep
    assert (await api.post("/__emulator/reset")).json() == {}
    dump = (await api.get("/__emulator/dump")).json()
    assert dump == {"users": {}}
    assert (await api.get("/__emulator/stats")).json()["total"] == 0
    assert emulator.config.latency_ms == 1


async def _no_sleep(seconds: float) -> None:
    del seconds


async def test_edit_changes_a_contact_out_of_band(api: httpx.AsyncClient) -> None:
    """A scripted edit needs no etag, changes the etag, and shows in the next sync."""
    person = await create(api)
    params = {"personFields": "names", "requestSyncToken": "true"}
    token = (await api.get("/v1/people/me/connections", params=params)).json()["nextSyncToken"]
    edit = {
        "user": "alice@example.com",
        "resourceName": person["resourceName"],
        "person": {"biographies": [{"value": "Met at the conference"}]},
        "updatePersonFields": "biographies",
    }
    response = await api.post("/__emulator/edit", json=edit)
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["biographies"][0]["value"] == "Met at the conference"
    assert edited["etag"] != person["etag"]
    assert edited["names"][0]["givenName"] == "Jane"
    changes = await api.get("/v1/people/me/connections", params={**params, "syncToken": token})
    assert [p["resourceName"] for p in changes.json()["connections"]] == [person["resourceName"]]
    missing = await api.post("/__emulator/edit", json={**edit, "resourceName": "people/c1"})
    assert missing.status_code == 404


async def test_dump_shows_every_users_contacts_and_groups(api: httpx.AsyncClient) -> None:
    """The dump lists people (as the API renders them) and groups per user."""
    person = await create(api)
    await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})
    dump = (await api.get("/__emulator/dump")).json()
    book = dump["users"]["alice@example.com"]
    assert [p["resourceName"] for p in book["people"]] == [person["resourceName"]]
    assert book["people"][0]["names"][0]["displayName"] == "Jane"
    system = [name.split("/", 1)[1] for name in SYSTEM_GROUPS]
    assert sorted(g["name"] for g in book["contactGroups"]) == sorted(["Team", *system])


async def test_dump_keeps_only_the_users_asked_for(api: httpx.AsyncClient) -> None:
    """``?user=`` narrows the dump to those users; a user with no book is simply absent."""
    await create(api)
    bob = {"Authorization": "Bearer user:bob@example.com"}
    await api.post("/v1/people:createContact", json={"names": [{"givenName": "B"}]}, headers=bob)
    both = (await api.get("/__emulator/dump")).json()["users"]
    assert sorted(both) == ["alice@example.com", "bob@example.com"]
    only = await api.get("/__emulator/dump", params=[("user", "bob@example.com"), ("user", "x@y")])
    assert sorted(only.json()["users"]) == ["bob@example.com"]


async def test_stats_count_requests_by_method_and_status(api: httpx.AsyncClient) -> None:
    """Each API call is counted under its discovery method id and its HTTP status."""
    person = await create(api)
    await api.get(f"/v1/{person['resourceName']}", params={"personFields": "names"})
    await api.get("/v1/people/c1", params={"personFields": "names"})
    await api.get("/__emulator/dump")
    stats = (await api.get("/__emulator/stats")).json()
    assert stats["total"] == 3
    assert stats["by_method"] == {"people.people.createContact": 1, "people.people.get": 2}
    assert stats["by_status"] == {"200": 2, "404": 1}
    assert stats["by_method_status"]["people.people.get"] == {"200": 1, "404": 1}


async def test_dispatch_runs_an_inner_request_through_the_app(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """Emulator.dispatch routes, authenticates and counts a request made in process."""
    person = await create(api)
    status, headers, body = await emulator.dispatch(
        "GET",
        f"/v1/{person['resourceName']}?personFields=names",
        {"Authorization": "Bearer user:alice@example.com"},
    )
    assert status == 200
    assert ("content-type", "application/json") in headers
    assert person["resourceName"].encode() in body
    status, _headers, _body = await emulator.dispatch("GET", "/v1/contactGroups", [])
    assert status == 401
    stats = emulator.stats.snapshot()
    assert stats["by_method_status"]["people.contactGroups.list"] == {"401": 1}
