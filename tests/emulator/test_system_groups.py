"""System contact groups and output-only membership ids, as Google serves them.

Sources:
- a real contactGroups.list response quoted in public code
  (https://github.com/IamNator/mysql-golang-web, extern/importContactsGoogle.go; recorded in
  tests/fixtures/google/contact_groups_list.json): eight system groups, deprecated ones
  included, all ``SYSTEM_CONTACT_GROUP`` and without etag or metadata;
- the discovery document (google-api-python-client's people.v1.json), ContactGroupMembership:
  "Only contact_group_resource_name can be used for modifying memberships. Any contact group
  membership can be removed, but only user group or "myContacts" or "starred" system groups
  memberships can be added", and ``contactGroupId`` is "Output only";
- docs/people-api.md, "System contact groups".
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from reconciler.emulator.contacts import DEPRECATED_GROUP_MESSAGE
from reconciler.emulator.store import SYSTEM_GROUPS

DEPRECATED = sorted(set(SYSTEM_GROUPS) - {"contactGroups/myContacts", "contactGroups/starred"})


async def _create(api: httpx.AsyncClient, **person: Any) -> dict[str, Any]:
    response = await api.post("/v1/people:createContact", json=person)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _membership(group: str) -> dict[str, Any]:
    return {"contactGroupMembership": {"contactGroupResourceName": group}}


async def _edit_groups(api: httpx.AsyncClient, name: str, groups: list[str]) -> None:
    """An out-of-band edit (as an old client or the web UI of old made it)."""
    body = {
        "user": "alice@example.com",
        "resourceName": name,
        "person": {
            "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName": g}} for g in groups
            ]
        },
        "updatePersonFields": "memberships",
    }
    assert (await api.post("/__emulator/edit", json=body)).status_code == 200


async def test_list_returns_every_system_group_without_etag_or_metadata(
    api: httpx.AsyncClient,
) -> None:
    """All eight system groups are listed, typed SYSTEM_CONTACT_GROUP, with their formatted
    names and no etag or metadata; user groups keep both."""
    await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})
    listed = (await api.get("/v1/contactGroups")).json()["contactGroups"]
    system = {g["resourceName"]: g for g in listed if g["groupType"] == "SYSTEM_CONTACT_GROUP"}
    assert set(system) == set(SYSTEM_GROUPS)
    assert system["contactGroups/chatBuddies"]["formattedName"] == "Chat contacts"
    assert system["contactGroups/all"]["formattedName"] == "All Contacts"
    for group in system.values():
        assert "etag" not in group
        assert "metadata" not in group
    (user,) = [g for g in listed if g["groupType"] == "USER_CONTACT_GROUP"]
    assert user["etag"]
    assert "updateTime" in user["metadata"]


@pytest.mark.parametrize("group", DEPRECATED)
async def test_adding_to_a_deprecated_system_group_is_a_400(
    api: httpx.AsyncClient, group: str
) -> None:
    """members:modify, createContact and updateContact refuse to add a contact to a deprecated
    system group with a 400 (not a 404): the group exists, it just takes no new members."""
    person = await _create(api, names=[{"givenName": "Ada"}])
    name = person["resourceName"]
    modify = await api.post(f"/v1/{group}/members:modify", json={"resourceNamesToAdd": [name]})
    assert modify.status_code == 400
    assert modify.json()["error"]["message"] == DEPRECATED_GROUP_MESSAGE
    membership = {"contactGroupMembership": {"contactGroupResourceName": group}}
    created = await api.post("/v1/people:createContact", json={"memberships": [membership]})
    assert created.status_code == 400
    updated = await api.patch(
        f"/v1/{name}:updateContact",
        params={"updatePersonFields": "memberships"},
        json={"etag": person["etag"], "memberships": [membership]},
    )
    assert updated.status_code == 400


async def test_my_contacts_and_starred_take_members(api: httpx.AsyncClient) -> None:
    """The two live system groups accept new members through members:modify."""
    name = (await _create(api, names=[{"givenName": "Ada"}]))["resourceName"]
    answer = await api.post(
        "/v1/contactGroups/starred/members:modify", json={"resourceNamesToAdd": [name]}
    )
    assert answer.status_code == 200
    got = (await api.get(f"/v1/{name}", params={"personFields": "memberships"})).json()
    groups = [m["contactGroupMembership"]["contactGroupResourceName"] for m in got["memberships"]]
    assert groups == ["contactGroups/myContacts", "contactGroups/starred"]


async def test_members_of_a_deprecated_group_keep_it_and_can_leave_it(
    api: httpx.AsyncClient,
) -> None:
    """A contact already in a deprecated group keeps it through an update that re-sends it,
    and may be removed from it; the group's member count follows."""
    person = await _create(api, names=[{"givenName": "Ada"}])
    name = person["resourceName"]
    await _edit_groups(api, name, ["contactGroups/myContacts", "contactGroups/family"])
    family = (await api.get("/v1/contactGroups/family", params={"maxMembers": "5"})).json()
    assert family["memberResourceNames"] == [name]
    current = (await api.get(f"/v1/{name}", params={"personFields": "memberships"})).json()
    kept = await api.patch(
        f"/v1/{name}:updateContact",
        params={"updatePersonFields": "memberships", "personFields": "memberships"},
        json={"etag": current["etag"], "memberships": current["memberships"]},
    )
    assert kept.status_code == 200, kept.text
    removed = await api.post(
        "/v1/contactGroups/family/members:modify", json={"resourceNamesToRemove": [name]}
    )
    assert removed.json() == {}
    family = (await api.get("/v1/contactGroups/family")).json()
    assert "memberCount" not in family


async def test_system_groups_cannot_be_renamed_or_deleted(api: httpx.AsyncClient) -> None:
    """Every system group refuses update and delete with a 400."""
    for group in SYSTEM_GROUPS:
        renamed = await api.put(f"/v1/{group}", json={"contactGroup": {"name": "Mine"}})
        assert renamed.status_code == 400
        assert (await api.delete(f"/v1/{group}")).status_code == 400


async def test_contact_group_id_alone_does_not_change_memberships(
    api: httpx.AsyncClient,
) -> None:
    """``contactGroupId`` is output only: a membership given only by id is ignored (so an
    update whose only membership is such an entry is refused as removing the last one, and a
    create lands in myContacts alone). Source: discovery document, ContactGroupMembership:
    ``contactGroupId`` "Output only", and "Only contact_group_resource_name can be used for
    modifying memberships"; output-only input is ignored, not refused (docs/people-api.md,
    "Person")."""
    group = (await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})).json()
    group_id = group["resourceName"].split("/", 1)[1]
    by_id = {"contactGroupMembership": {"contactGroupId": group_id}}
    created = await _create(api, names=[{"givenName": "Ada"}], memberships=[by_id])
    groups = [
        m["contactGroupMembership"]["contactGroupResourceName"] for m in created["memberships"]
    ]
    assert groups == ["contactGroups/myContacts"]
    updated = await api.patch(
        f"/v1/{created['resourceName']}:updateContact",
        params={"updatePersonFields": "memberships"},
        json={"etag": created["etag"], "memberships": [by_id]},
    )
    assert updated.status_code == 400
    rendered = created["memberships"][0]["contactGroupMembership"]
    assert rendered["contactGroupId"] == "myContacts"


def test_google_client_lists_system_groups_and_gets_400_for_deprecated(
    people: Any, emulator_server: Any
) -> None:
    """Over HTTP, google-api-python-client sees every system group, and adding a contact to a
    deprecated one raises HttpError 400 with the message."""
    listed = people.contactGroups().list(pageSize=100).execute()["contactGroups"]
    system = [g for g in listed if g["groupType"] == "SYSTEM_CONTACT_GROUP"]
    assert {g["resourceName"] for g in system} == set(SYSTEM_GROUPS)
    assert all("etag" not in g and "metadata" not in g for g in system)
    person = people.people().createContact(body={"names": [{"givenName": "Ada"}]}).execute()
    with pytest.raises(HttpError) as caught:
        people.contactGroups().members().modify(
            resourceName="contactGroups/coworkers",
            body={"resourceNamesToAdd": [person["resourceName"]]},
        ).execute()
    assert caught.value.status_code == 400
    assert json.loads(caught.value.content)["error"]["message"] == DEPRECATED_GROUP_MESSAGE
