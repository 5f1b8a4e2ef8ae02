"""With a state file, everything survives a restart; without one, nothing touches the disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from reconciler.clock import ManualClock
from reconciler.emulator import EmulatorConfig, StateFileError, create_app
from reconciler.emulator.store import SYSTEM_GROUPS


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://e",
        headers={"Authorization": "Bearer user:alice@example.com"},
    )


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    """Contacts, groups, etags, tombstones and sync tokens are all still valid after a restart."""
    path = tmp_path / "state.sqlite3"
    clock = ManualClock()
    async with client(create_app(state_path=path, clock=clock)) as api:
        group = (
            await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})
        ).json()
        membership = {"contactGroupMembership": {"contactGroupResourceName": group["resourceName"]}}
        created = []
        for name in ("Ann", "Bob"):
            body = {"names": [{"givenName": name}], "memberships": [membership]}
            created.append((await api.post("/v1/people:createContact", json=body)).json())
        params = {"personFields": "names", "requestSyncToken": "true"}
        token = (await api.get("/v1/people/me/connections", params=params)).json()["nextSyncToken"]
        await api.delete(f"/v1/{created[1]['resourceName']}:deleteContact")
    async with client(create_app(EmulatorConfig(), state_path=path, clock=clock)) as api:
        ann = created[0]
        got = await api.get(f"/v1/{ann['resourceName']}", params={"personFields": "names"})
        assert got.json()["etag"] == ann["etag"]
        response = await api.patch(
            f"/v1/{ann['resourceName']}:updateContact",
            params={"updatePersonFields": "names"},
            json={"etag": ann["etag"], "names": [{"givenName": "Anne"}]},
        )
        assert response.status_code == 200
        changes = await api.get("/v1/people/me/connections", params={**params, "syncToken": token})
        names = {p["resourceName"]: p for p in changes.json()["connections"]}
        assert names[created[1]["resourceName"]]["metadata"] == {"deleted": True}
        assert names[ann["resourceName"]]["names"][0]["givenName"] == "Anne"
        got_group = (await api.get(f"/v1/{group['resourceName']}")).json()
        assert got_group["memberCount"] == 1
    async with client(create_app(state_path=path, clock=clock)) as api:
        await api.post("/__emulator/reset")
    async with client(create_app(state_path=path, clock=clock)) as api:
        assert (await api.get("/__emulator/dump")).json() == {"users": {}}


async def test_memory_only_by_default() -> None:
    """Without state_path a restart starts empty."""
    async with client(create_app()) as api:
        await api.post("/v1/people:createContact", json={})
    async with client(create_app()) as api:
        assert (await api.get("/__emulator/dump")).json() == {"users": {}}


def test_a_file_that_is_not_a_state_file_is_a_clear_error(tmp_path: Path) -> None:
    """A corrupt or foreign state file is refused with its path and what to do."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateFileError, match=r"notes\.txt: .*delete the file"):
        create_app(state_path=path)


async def test_a_state_file_from_before_the_deprecated_groups_gains_them(tmp_path: Path) -> None:
    """A state file written when the emulator knew only myContacts and starred loads with every
    system group, so old address books look like Google's today."""
    path = tmp_path / "state.sqlite3"
    async with client(create_app(state_path=path)) as api:
        assert (await api.get("/v1/contactGroups")).status_code == 200
    keep = ("contactGroups/myContacts", "contactGroups/starred")
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM records WHERE kind = 'group' AND key NOT IN (?, ?)", keep)
    async with client(create_app(state_path=path)) as api:
        listed = (await api.get("/v1/contactGroups")).json()["contactGroups"]
    assert {g["resourceName"] for g in listed} == set(SYSTEM_GROUPS)
