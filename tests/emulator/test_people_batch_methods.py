"""batchCreateContacts, batchUpdateContacts, batchDeleteContacts and getBatchGet semantics."""

from __future__ import annotations

from typing import Any

import httpx

STALE = (
    "Request person.etag is different than the current person.etag. "
    "Clear local cache and get the latest person."
)


async def create_many(
    api: httpx.AsyncClient, n: int, read_mask: str = "metadata"
) -> list[dict[str, Any]]:
    body: dict[str, Any] = {
        "contacts": [
            {"contactPerson": {"names": [{"givenName": f"P{i}"}], "biographies": [{"value": "b"}]}}
            for i in range(n)
        ]
    }
    if read_mask:
        body["readMask"] = read_mask
    response = await api.post("/v1/people:batchCreateContacts", json=body)
    assert response.status_code == 200, response.text
    return [entry["person"] for entry in response.json()["createdPeople"]]


async def test_batch_writes_with_an_empty_read_mask_return_no_person(
    api: httpx.AsyncClient,
) -> None:
    """An empty readMask skips the post-mutate read: no person, so neither resource name nor
    etag (discovery document, BatchCreateContactsRequest.readMask and
    BatchUpdateContactsRequest.readMask: "If read mask is left empty, the post-mutate-get is
    skipped and no data will be returned in the response")."""
    body = {"contacts": [{"contactPerson": {"names": [{"givenName": "P"}]}}]}
    created = (await api.post("/v1/people:batchCreateContacts", json=body)).json()
    assert created["createdPeople"] == [{"httpStatusCode": 200, "status": {}}]
    [person] = await create_many(api, 1, read_mask="names")
    assert person["names"][0]["displayName"] == "P0"
    update = {
        "contacts": {
            person["resourceName"]: {"etag": person["etag"], "names": [{"givenName": "Q"}]}
        },
        "updateMask": "names",
        "readMask": "",
    }
    updated = (await api.post("/v1/people:batchUpdateContacts", json=update)).json()
    result = updated["updateResult"][person["resourceName"]]
    assert "person" not in result
    assert result["httpStatusCode"] == 200


async def test_batch_update_clears_masked_fields_left_empty(api: httpx.AsyncClient) -> None:
    """Fields in updateMask but absent from a person are cleared; others are kept."""
    [person] = await create_many(api, 1, read_mask="names,biographies")
    body = {
        "contacts": {
            person["resourceName"]: {"etag": person["etag"], "names": [{"givenName": "Q"}]}
        },
        "updateMask": "names,biographies",
        "readMask": "names,biographies",
    }
    response = await api.post("/v1/people:batchUpdateContacts", json=body)
    assert response.status_code == 200, response.text
    result = response.json()["updateResult"][person["resourceName"]]["person"]
    assert result["names"][0]["givenName"] == "Q"
    assert "biographies" not in result
    assert result["etag"] != person["etag"]


async def test_batch_update_is_all_or_nothing_and_names_failures(api: httpx.AsyncClient) -> None:
    """One stale etag rejects the whole call; the details name the failing contact."""
    good, stale = await create_many(api, 2)
    body = {
        "contacts": {
            good["resourceName"]: {"etag": good["etag"], "names": [{"givenName": "New"}]},
            stale["resourceName"]: {"etag": "%EgStale", "names": [{"givenName": "New"}]},
        },
        "updateMask": "names",
    }
    response = await api.post("/v1/people:batchUpdateContacts", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == STALE
    assert error["status"] == "FAILED_PRECONDITION"
    errors = error["details"][-1]["contactErrors"]
    assert set(errors) == {stale["resourceName"]}
    got = await api.get(f"/v1/{good['resourceName']}", params={"personFields": "names"})
    assert got.json()["etag"] == good["etag"]


async def test_batch_delete_and_batch_get(api: httpx.AsyncClient) -> None:
    """batchDelete removes all named contacts; getBatchGet reports each name's status."""
    a, b, c = await create_many(api, 3)
    body = {"resourceNames": [a["resourceName"], b["resourceName"]]}
    assert (await api.post("/v1/people:batchDeleteContacts", json=body)).json() == {}
    params = [
        ("personFields", "names"),
        ("resourceNames", a["resourceName"]),
        ("resourceNames", c["resourceName"]),
    ]
    responses = (await api.get("/v1/people:batchGet", params=params)).json()["responses"]
    assert responses[0]["requestedResourceName"] == a["resourceName"]
    assert responses[0]["status"]["code"] == 5
    assert "person" not in responses[0]
    assert responses[1]["person"]["names"][0]["givenName"] == "P2"
    assert responses[1]["status"] == {}


async def test_batch_delete_of_a_missing_contact_deletes_nothing(api: httpx.AsyncClient) -> None:
    """A batch delete naming an unknown contact is refused whole."""
    [a] = await create_many(api, 1)
    body = {"resourceNames": [a["resourceName"], "people/c1"]}
    assert (await api.post("/v1/people:batchDeleteContacts", json=body)).status_code == 404
    got = await api.get(f"/v1/{a['resourceName']}", params={"personFields": "names"})
    assert got.status_code == 200


async def test_memberships_are_writable_by_resource_name(api: httpx.AsyncClient) -> None:
    """A membership given by contactGroupResourceName is stored; myContacts is always added."""
    group = (await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})).json()
    membership = {"contactGroupMembership": {"contactGroupResourceName": group["resourceName"]}}
    person = {"names": [{"givenName": "M"}], "memberships": [membership]}
    response = await api.post(
        "/v1/people:createContact", params={"personFields": "memberships"}, json=person
    )
    groups = [
        m["contactGroupMembership"]["contactGroupResourceName"]
        for m in response.json()["memberships"]
    ]
    assert groups == ["contactGroups/myContacts", group["resourceName"]]
    bad = {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/nope"}}
    response = await api.post("/v1/people:createContact", json={"memberships": [bad]})
    assert response.status_code == 400


async def test_batch_create_names_failing_items_by_index(api: httpx.AsyncClient) -> None:
    """A bad item rejects the whole batchCreate; contactErrors names it by its index."""
    good = {"contactPerson": {"names": [{"givenName": "Ok"}]}}
    two_names = {"contactPerson": {"names": [{"givenName": "A"}, {"givenName": "B"}]}}
    bad_group = {
        "contactPerson": {
            "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/x"}}
            ]
        }
    }
    body = {"contacts": [good, two_names, good, bad_group]}
    response = await api.post("/v1/people:batchCreateContacts", json=body)
    assert response.status_code == 400
    detail = response.json()["error"]["details"][-1]
    assert detail["@type"].endswith("BatchCreateContactsErrorDetails")
    assert set(detail["contactErrors"]) == {"1", "3"}
    assert detail["contactErrors"]["1"]["code"] == 3
    listed = await api.get("/v1/people/me/connections", params={"personFields": "names"})
    assert "connections" not in listed.json()
