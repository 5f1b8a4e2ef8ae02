"""Contact groups: system groups, create/update fields, clientData and batchGet."""

from __future__ import annotations

import httpx


async def test_system_groups_exist_in_every_address_book(api: httpx.AsyncClient) -> None:
    """myContacts and starred are there from the start, typed SYSTEM_CONTACT_GROUP."""
    got = (await api.get("/v1/contactGroups/myContacts")).json()
    assert got["groupType"] == "SYSTEM_CONTACT_GROUP"
    assert got["formattedName"] == "My Contacts"
    assert (await api.get("/v1/contactGroups/starred")).json()["name"] == "starred"


async def test_create_and_update_name_and_client_data(api: httpx.AsyncClient) -> None:
    """updateGroupFields picks what changes (default name); each write has a new etag."""
    body = {
        "contactGroup": {"name": "Sales", "clientData": [{"key": "owner", "value": "repo"}]},
        "readGroupFields": "name,clientData,groupType",
    }
    created = (await api.post("/v1/contactGroups", json=body)).json()
    assert created["groupType"] == "USER_CONTACT_GROUP"
    assert created["clientData"] == [{"key": "owner", "value": "repo"}]
    path = f"/v1/{created['resourceName']}"
    renamed = await api.put(
        path,
        json={
            "contactGroup": {"name": "Sales EU", "etag": created["etag"], "clientData": []},
            "readGroupFields": "name,clientData",
        },
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Sales EU"
    assert renamed.json()["clientData"] == [{"key": "owner", "value": "repo"}]
    assert renamed.json()["etag"] != created["etag"]
    cleared = await api.put(
        path,
        json={
            "contactGroup": {"etag": renamed.json()["etag"]},
            "updateGroupFields": "clientData",
            "readGroupFields": "name,clientData",
        },
    )
    assert cleared.json() == {
        "resourceName": created["resourceName"],
        "etag": cleared.json()["etag"],
        "name": "Sales EU",
        "formattedName": "Sales EU",
    }


async def test_renaming_onto_another_groups_name_is_409(api: httpx.AsyncClient) -> None:
    """A rename may not take another user group's name."""
    await api.post("/v1/contactGroups", json={"contactGroup": {"name": "A"}})
    b = (await api.post("/v1/contactGroups", json={"contactGroup": {"name": "B"}})).json()
    response = await api.put(f"/v1/{b['resourceName']}", json={"contactGroup": {"name": "A"}})
    assert response.status_code == 409


async def test_batch_get_reports_each_group(api: httpx.AsyncClient) -> None:
    """contactGroups.batchGet answers every name with a group or a status."""
    params = [("resourceNames", "contactGroups/starred"), ("resourceNames", "contactGroups/nope")]
    responses = (await api.get("/v1/contactGroups:batchGet", params=params)).json()["responses"]
    assert responses[0]["contactGroup"]["name"] == "starred"
    assert responses[1]["status"]["code"] == 5
    assert "contactGroup" not in responses[1]


async def test_bad_group_bodies_are_400(api: httpx.AsyncClient) -> None:
    """A missing or empty name, an unknown field or a bad groupFields mask is a 400."""
    for body in [{}, {"contactGroup": {}}, {"contactGroup": {"name": "x", "bogus": 1}}]:
        assert (await api.post("/v1/contactGroups", json=body)).status_code == 400
    response = await api.get("/v1/contactGroups", params={"groupFields": "members"})
    assert response.status_code == 400


async def test_group_list_page_size_and_default_max_members(api: httpx.AsyncClient) -> None:
    """contactGroups.list takes pageSize up to 1000; get lists no members unless maxMembers."""
    assert (await api.get("/v1/contactGroups", params={"pageSize": "1000"})).status_code == 200
    assert (await api.get("/v1/contactGroups", params={"pageSize": "1001"})).status_code == 400
    await api.post("/v1/people:createContact", json={})
    got = (await api.get("/v1/contactGroups/myContacts")).json()
    assert got["memberCount"] == 1
    assert "memberResourceNames" not in got
    got = (await api.get("/v1/contactGroups/myContacts", params={"maxMembers": "5"})).json()
    assert len(got["memberResourceNames"]) == 1
