"""Each knob, off by default, changes the emulator's behaviour the way its name says."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.clock import ManualClock
from reconciler.emulator import Emulator, EmulatorConfig, create_app

STALE = (
    "Request person.etag is different than the current person.etag. "
    "Clear local cache and get the latest person."
)


async def create(api: httpx.AsyncClient, given: str = "Jane") -> dict[str, Any]:
    response = await api.post(
        "/v1/people:createContact",
        params={"personFields": "names,phoneNumbers,biographies"},
        json={"names": [{"givenName": given}], "phoneNumbers": [{"value": "+1 650 555 0100"}]},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def rename(api: httpx.AsyncClient, person: dict[str, Any], given: str) -> httpx.Response:
    return await api.patch(
        f"/v1/{person['resourceName']}:updateContact",
        params={"updatePersonFields": "names"},
        json={"etag": person["etag"], "names": [{"givenName": given}]},
    )


async def get(api: httpx.AsyncClient, person: dict[str, Any]) -> dict[str, Any]:
    response = await api.get(
        f"/v1/{person['resourceName']}", params={"personFields": "names,phoneNumbers,biographies"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sync(api: httpx.AsyncClient, token: str | None = None) -> tuple[list[str], str]:
    params = {"personFields": "names", "requestSyncToken": "true", "pageSize": "1000"}
    if token:
        params["syncToken"] = token
    body = (await api.get("/v1/people/me/connections", params=params)).json()
    return [p["resourceName"] for p in body.get("connections", [])], body["nextSyncToken"]


def test_every_knob_is_off_by_default() -> None:
    """A plain EmulatorConfig misbehaves in no way."""
    config = EmulatorConfig()
    knobs = config.model_dump(exclude={"seed", "default_region", "spurious_etag_window_ms"})
    assert all(value == 0 for value in knobs.values())


async def test_latency_delays_every_api_call(api: httpx.AsyncClient, emulator: Emulator) -> None:
    """latency_ms is spent before each API call."""
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    emulator.faults.sleep = record
    await create(api)
    assert slept == []
    emulator.configure({"latency_ms": 250})
    await create(api)
    await api.get("/v1/contactGroups")
    assert slept == [0.25, 0.25]


async def test_error_rate_answers_random_500s_and_503s(clock: ManualClock) -> None:
    """With error_rate set at construction, that share of calls fail with 500 or 503."""
    app = create_app(EmulatorConfig(error_rate=0.5, seed=7), clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://e",
        headers={"Authorization": "Bearer t"},
    ) as api:
        statuses = [(await api.get("/v1/contactGroups")).status_code for _ in range(60)]
    assert {200, 500, 503} == set(statuses)
    assert 15 < statuses.count(200) < 45
    again = create_app(EmulatorConfig(error_rate=0.5, seed=7), clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=again),
        base_url="http://e",
        headers={"Authorization": "Bearer t"},
    ) as api:
        replay = [(await api.get("/v1/contactGroups")).status_code for _ in range(60)]
    assert replay == statuses


async def test_write_quota_gives_429_with_retry_after(
    api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    """Past write_quota_per_minute a user gets 429 RATE_LIMIT_EXCEEDED until the minute passes."""
    emulator.configure({"write_quota_per_minute": 2})
    await create(api)
    clock.advance(10)
    await create(api)
    response = await api.post("/v1/people:createContact", json={})
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    info = error["details"][0]
    assert info["reason"] == "RATE_LIMIT_EXCEEDED"
    assert info["metadata"]["quota_metric"] == "people.googleapis.com/critical_write_requests"
    assert response.headers["retry-after"] == "50"
    assert (await api.get("/v1/contactGroups")).status_code == 200
    clock.advance(50)
    assert (await api.post("/v1/people:createContact", json={})).status_code == 200


LISTING = "/v1/people/me/connections?personFields=names"


async def test_read_quota_counts_writes_too(
    api: httpx.AsyncClient, emulator: Emulator, app: Any
) -> None:
    """Updates consume read quota; other users have their own quota."""
    emulator.configure({"read_quota_per_minute": 2})
    await create(api)
    assert (await api.get(LISTING)).status_code == 200
    response = await api.get(LISTING)
    assert response.status_code == 429
    metric = response.json()["error"]["details"][0]["metadata"]["quota_metric"]
    assert metric == "people.googleapis.com/critical_read_requests"
    async with as_user(app, "bob@x") as bob:
        assert (await bob.get(LISTING)).status_code == 200


def as_user(app: Any, user: str) -> httpx.AsyncClient:
    """A client of the same emulator acting as another user of the same project."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://e",
        headers={"Authorization": f"Bearer user:{user}"},
    )


async def test_project_quota_is_shared_by_every_user(
    api: httpx.AsyncClient, emulator: Emulator, app: Any, clock: ManualClock
) -> None:
    """project_read_quota_per_minute counts every user's reads together; the 429 names the
    per-project limit (no "per user") and frees up when the minute passes."""
    emulator.configure({"project_read_quota_per_minute": 2})
    assert (await api.get(LISTING)).status_code == 200
    async with as_user(app, "bob@x") as bob:
        assert (await bob.get(LISTING)).status_code == 200
        response = await bob.get(LISTING)
        assert response.status_code == 429
        error = response.json()["error"]
        assert error["details"][0]["metadata"]["quota_limit"] == "CriticalReadsPerMinutePerProject"
        assert "per minute'" in error["message"]
        assert "per user" not in error["message"]
        clock.advance(60)
        assert (await bob.get(LISTING)).status_code == 200


async def test_read_lag_serves_the_previous_version(
    api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    """Within read_lag_ms of a write, get returns the old version and etag; the new etag works."""
    emulator.configure({"read_lag_ms": 5000})
    person = await create(api)
    response = await rename(api, person, "New")
    new_etag = response.json()["etag"]
    lagging = await get(api, person)
    assert lagging["etag"] == person["etag"]
    assert lagging["names"][0]["givenName"] == "Jane"
    assert (await rename(api, lagging, "Again")).status_code == 400
    assert (await rename(api, response.json(), "Again")).status_code == 200
    new_etag = (await api.get("/__emulator/dump")).json()["users"]["alice@example.com"]["people"][
        0
    ]["etag"]
    clock.advance(5)
    assert (await get(api, person))["etag"] == new_etag


async def test_sync_delay_hides_recent_changes_from_incremental_syncs(
    api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    """A change younger than sync_delay_ms is reported by a later sync, never lost."""
    _names, token = await sync(api)
    emulator.configure({"sync_delay_ms": 60_000})
    person = await create(api)
    names, token = await sync(api, token)
    assert names == []
    clock.advance(61)
    names, token = await sync(api, token)
    assert names == [person["resourceName"]]


async def test_list_lag_hides_new_contacts_from_listings_and_search(
    api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    """New contacts show up in listings and searches only after list_lag_ms."""
    emulator.configure({"list_lag_ms": 30_000})
    await api.get("/v1/people:searchContacts", params={"query": "", "readMask": "names"})
    person = await create(api, "Zed")
    names, token = await sync(api)
    assert names == []
    found = await api.get("/v1/people:searchContacts", params={"query": "zed", "readMask": "names"})
    assert found.json() == {}
    assert (await get(api, person))["resourceName"] == person["resourceName"]
    clock.advance(30)
    names, _token = await sync(api)
    assert names == [person["resourceName"]]
    changes, _token = await sync(api, token)
    assert changes == [person["resourceName"]]


async def test_spurious_stale_etag_after_a_recent_write(
    api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    """Right after a write, an update with the current etag may be refused as stale."""
    emulator.configure({"spurious_etag_rate": 1.0, "spurious_etag_window_ms": 2000})
    person = await create(api)
    response = await rename(api, person, "Soon")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == STALE
    clock.advance(2)
    assert (await rename(api, person, "Later")).status_code == 200


async def test_editor_changes_contacts_behind_the_clients_back(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """With editor_rate 1, someone edits a phone number or biography before each call."""
    person = await create(api)
    emulator.configure({"editor_rate": 1.0})
    seen = await get(api, person)
    assert seen["etag"] != person["etag"]
    phone_changed = seen["phoneNumbers"][0]["value"] != "+1 650 555 0100"
    assert phone_changed or seen.get("biographies")
    assert seen["names"] == person["names"]
    emulator.configure({"editor_rate": 0})
    assert (await rename(api, person, "Mine")).status_code == 400


@pytest.mark.parametrize(
    "changes",
    [{"error_rate": 2}, {"latency_ms": -1}, {"bogus": 1}, {"default_region": "USA"}],
)
async def test_bad_knob_values_are_refused(api: httpx.AsyncClient, changes: dict[str, Any]) -> None:
    """PATCH /__emulator/config validates every knob."""
    response = await api.patch("/__emulator/config", json=changes)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Invalid emulator config")


async def test_default_region_shapes_canonical_forms(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """Numbers without a country code are read in default_region."""
    body = {"phoneNumbers": [{"value": "020 7946 0000"}]}
    emulator.configure({"default_region": "GB"})
    response = await api.post("/v1/people:createContact", json=body)
    assert response.json()["phoneNumbers"][0]["canonicalForm"] == "+442079460000"
