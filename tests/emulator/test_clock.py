"""Time from outside: ``POST /__emulator/clock`` moves the emulator's time forward over HTTP.

Sync tokens expire seven days after the full sync (reference page of people.connections.list:
"Sync tokens expire 7 days after the full sync"), reads lag writes and quotas are per minute
(docs/people-api.md, "Sync tokens" and "Errors and quotas"); a script testing its handling of
those must not wait a week or a minute. These tests drive a real server on 127.0.0.1 with its
real system clock, as any user's script would.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler.emulator.tokens import SYNC_TOKEN_LIFETIME

HEADERS = {"Authorization": "Bearer user:alice@example.com"}


@pytest.fixture
def http(emulator_server: Any) -> Any:
    with httpx.Client(base_url=emulator_server.url, headers=HEADERS) as client:
        yield client


def advance(http: httpx.Client, seconds: float) -> dict[str, Any]:
    response = http.post("/__emulator/clock", json={"advance": seconds})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_clock_moves_forward_only(http: httpx.Client) -> None:
    """GET tells the time; POST adds seconds to it; going back or a bad body is a 400."""
    before = http.get("/__emulator/clock").json()
    after = advance(http, 3600)
    assert after["epoch"] - before["epoch"] >= 3600
    assert after["advanced"] == before["advanced"] + 3600
    assert after["now"].endswith("Z")
    for body in (
        {"advance": -1},
        {"advance": "soon"},
        {},
        {"advance": 1, "x": 2},
        {"advance": True},
    ):
        assert http.post("/__emulator/clock", json=body).status_code == 400


def test_sync_tokens_expire_when_the_clock_is_advanced(http: httpx.Client) -> None:
    """A sync token still works after six days and is expired a week after its full sync."""
    params = {"personFields": "names", "requestSyncToken": "true"}
    token = http.get("/v1/people/me/connections", params=params).json()["nextSyncToken"]
    advance(http, 6 * 24 * 3600)
    fresh = http.get(
        "/v1/people/me/connections", params={"personFields": "names", "syncToken": token}
    )
    assert fresh.status_code == 200
    advance(http, SYNC_TOKEN_LIFETIME)
    stale = http.get(
        "/v1/people/me/connections", params={"personFields": "names", "syncToken": token}
    )
    assert stale.status_code == 400
    assert stale.json()["error"]["details"][0]["reason"] == "EXPIRED_SYNC_TOKEN"


def test_read_lag_passes_when_the_clock_is_advanced(http: httpx.Client) -> None:
    """With read_lag_ms set, a get returns the old version until the clock passes the lag."""
    assert http.patch("/__emulator/config", json={"read_lag_ms": 60_000}).status_code == 200
    person = http.post("/v1/people:createContact", json={"names": [{"givenName": "Ada"}]}).json()
    name = person["resourceName"]
    updated = http.patch(
        f"/v1/{name}:updateContact",
        params={"updatePersonFields": "names"},
        json={"etag": person["etag"], "names": [{"givenName": "Grace"}]},
    ).json()
    assert (
        http.get(f"/v1/{name}", params={"personFields": "names"}).json()["etag"] == person["etag"]
    )
    advance(http, 61)
    assert (
        http.get(f"/v1/{name}", params={"personFields": "names"}).json()["etag"] == updated["etag"]
    )


def test_quota_refills_when_the_clock_is_advanced(http: httpx.Client) -> None:
    """Past the per-minute write quota calls get 429 until the clock moves a minute on."""
    assert http.patch("/__emulator/config", json={"write_quota_per_minute": 1}).status_code == 200
    body = {"names": [{"givenName": "Ada"}]}
    assert http.post("/v1/people:createContact", json=body).status_code == 200
    assert http.post("/v1/people:createContact", json=body).status_code == 429
    advance(http, 60)
    assert http.post("/v1/people:createContact", json=body).status_code == 200
