"""A client that mirrors the address book through sync tokens always catches up.

Whatever mix of creates, updates, deletes and out-of-band edits happens between syncs, and
whatever the sync delay and listing lag, once the lags have passed the mirror built from
incremental syncs equals a fresh full listing.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.clock import ManualClock
from reconciler.emulator import EmulatorConfig, create_app

OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "delete", "edit", "sync", "tick"]),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=25,
)


async def _sync(api: httpx.AsyncClient, mirror: dict[str, str], token: str) -> str:
    params = {"personFields": "names", "requestSyncToken": "true", "pageSize": "3"}
    page_token = None
    while True:
        query = dict(params, syncToken=token, **({"pageToken": page_token} if page_token else {}))
        body = (await api.get("/v1/people/me/connections", params=query)).json()
        for person in body.get("connections", []):
            if person.get("metadata", {}).get("deleted"):
                mirror.pop(person["resourceName"], None)
            else:
                mirror[person["resourceName"]] = person["etag"]
        page_token = body.get("nextPageToken")
        if not page_token:
            new_token: str = body["nextSyncToken"]
            return new_token


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS, sync_delay=st.sampled_from([0, 5000]), list_lag=st.sampled_from([0, 3000]))
async def test_incremental_syncs_converge_to_the_full_listing(
    ops: list[tuple[str, int]], sync_delay: int, list_lag: int
) -> None:
    """Mirror from syncs == full listing, after the lag windows have passed."""
    clock = ManualClock()
    app = create_app(EmulatorConfig(sync_delay_ms=sync_delay, list_lag_ms=list_lag), clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://e",
        headers={"Authorization": "Bearer user:p@example.com"},
    ) as api:
        mirror: dict[str, str] = {}
        params = {"personFields": "names", "requestSyncToken": "true"}
        token = (await api.get("/v1/people/me/connections", params=params)).json()["nextSyncToken"]
        live: dict[str, dict[str, Any]] = {}
        for op, n in ops:
            names = sorted(live)
            target = names[n % len(names)] if names else None
            if op == "create":
                person = (await api.post("/v1/people:createContact", json={})).json()
                live[person["resourceName"]] = person
            elif op == "update" and target:
                response = await api.patch(
                    f"/v1/{target}:updateContact",
                    params={"updatePersonFields": "names"},
                    json={"etag": live[target]["etag"], "names": [{"givenName": f"N{n}"}]},
                )
                live[target] = response.json()
            elif op == "delete" and target:
                await api.delete(f"/v1/{target}:deleteContact")
                del live[target]
            elif op == "edit" and target:
                edit = {
                    "user": "p@example.com",
                    "resourceName": target,
                    "person": {"biographies": [{"value": str(n)}]},
                }
                live[target] = (await api.post("/__emulator/edit", json=edit)).json()
            elif op == "sync":
                token = await _sync(api, mirror, token)
            elif op == "tick":
                clock.advance(n / 10)
        clock.advance(10)
        await _sync(api, mirror, token)
        full = await api.get("/v1/people/me/connections", params={"personFields": "names"})
        listed = {p["resourceName"]: p["etag"] for p in full.json().get("connections", [])}
    assert mirror == listed
    assert set(listed) == set(live)
