"""Every limit and error string of docs/people-api.md, with Google's full error bodies.

Bad input (malformed JSON, wrong types, unknown fields, bad masks, oversized batches) is a 400
like Google's, never a 500.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from reconciler.emulator import create_app

STALE = (
    "Request person.etag is different than the current person.etag. "
    "Clear local cache and get the latest person."
)
MISSING = (
    "Request must set person.etag or person.metadata.sources.etag for the source that is being "
    "updated."
)
JANE = {"names": [{"givenName": "Jane"}]}


async def create(api: httpx.AsyncClient, person: dict[str, Any] = JANE) -> dict[str, Any]:
    response = await api.post("/v1/people:createContact", json=person)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_of(response: httpx.Response, code: int) -> dict[str, Any]:
    assert response.status_code == code, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert error["errors"][0]["message"] == error["message"]
    return error


async def update(
    api: httpx.AsyncClient, person: dict[str, Any], body: dict[str, Any], mask: str = "names"
) -> httpx.Response:
    return await api.patch(
        f"/v1/{person['resourceName']}:updateContact",
        params={"updatePersonFields": mask},
        json=body,
    )


async def test_stale_etag_is_a_400_failed_precondition_with_googles_message(
    api: httpx.AsyncClient,
) -> None:
    """Not 409, not 412: 400 FAILED_PRECONDITION, legacy reason failedPrecondition."""
    person = await create(api)
    assert (await update(api, person, {"etag": person["etag"], **JANE})).status_code == 200
    error = error_of(await update(api, person, {"etag": person["etag"], **JANE}), 400)
    assert error["message"] == STALE
    assert error["status"] == "FAILED_PRECONDITION"
    assert error["errors"][0]["reason"] == "failedPrecondition"


async def test_missing_etag_is_a_400_with_googles_message(api: httpx.AsyncClient) -> None:
    """An update without any etag names both places an etag may be given."""
    person = await create(api)
    error = error_of(await update(api, person, dict(JANE)), 400)
    assert error["message"] == MISSING


async def test_the_source_etag_is_accepted_too(api: httpx.AsyncClient) -> None:
    """person.metadata.sources[].etag works in place of person.etag."""
    person = await create(api)
    source_etag = person["metadata"]["sources"][0]["etag"]
    body = {"metadata": {"sources": [{"type": "CONTACT", "etag": source_etag}]}, **JANE}
    assert (await update(api, person, body)).status_code == 200


async def test_group_stale_etag_is_409(api: httpx.AsyncClient) -> None:
    """A contact group update with an outdated etag is 409 'Contact group etag is outdated'."""
    group = (await api.post("/v1/contactGroups", json={"contactGroup": {"name": "A"}})).json()
    path = f"/v1/{group['resourceName']}"
    fresh = {"contactGroup": {"name": "B", "etag": group["etag"]}}
    assert (await api.put(path, json=fresh)).status_code == 200
    error = error_of(
        await api.put(path, json={"contactGroup": {"name": "C", "etag": group["etag"]}}), 409
    )
    assert error["message"] == "Contact group etag is outdated"
    assert error["status"] == "ABORTED"


async def test_duplicate_group_name_is_409(api: httpx.AsyncClient) -> None:
    """Two user groups cannot share a name."""
    assert (
        await api.post("/v1/contactGroups", json={"contactGroup": {"name": "A"}})
    ).status_code == 200
    error = error_of(await api.post("/v1/contactGroups", json={"contactGroup": {"name": "A"}}), 409)
    assert error["status"] == "ALREADY_EXISTS"


async def test_not_found_has_googles_message(api: httpx.AsyncClient) -> None:
    """404 NOT_FOUND 'Requested entity was not found.' with legacy reason notFound."""
    error = error_of(await api.get("/v1/people/c123", params={"personFields": "names"}), 404)
    assert error["message"] == "Requested entity was not found."
    assert error["status"] == "NOT_FOUND"
    assert error["errors"][0]["reason"] == "notFound"
    error_of(await api.get("/v1/contactGroups/abc"), 404)


async def test_unauthenticated_body(app: Starlette) -> None:
    """401 UNAUTHENTICATED with an ErrorInfo and a WWW-Authenticate header."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as c:
        response = await c.post("/v1/people:createContact", json=JANE)
    error = error_of(response, 401)
    assert error["status"] == "UNAUTHENTICATED"
    assert error["details"][0]["reason"] == "CREDENTIALS_MISSING"
    assert "Bearer" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/people/c1", {}),
        ("/v1/people/me/connections", {}),
        ("/v1/people:batchGet", {"resourceNames": "people/c1"}),
    ],
)
async def test_person_fields_is_required(
    api: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    """people.get, connections.list and getBatchGet need personFields."""
    error = error_of(await api.get(path, params=params), 400)
    assert error["message"].startswith("personFields mask is required.")
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["errors"][0]["reason"] == "badRequest"


async def test_bad_mask_paths_are_400(api: httpx.AsyncClient) -> None:
    """Unknown personFields paths, and read-only fields in updatePersonFields, are 400s."""
    person = await create(api)
    response = await api.get(
        f"/v1/{person['resourceName']}", params={"personFields": "names,bogus"}
    )
    assert error_of(response, 400)["message"].startswith('Invalid personFields mask path: "bogus".')
    response = await update(api, person, {"etag": person["etag"]}, mask="photos")
    assert error_of(response, 400)["message"].startswith(
        'Invalid updatePersonFields mask path: "photos".'
    )
    response = await update(api, person, {"etag": person["etag"]}, mask="")
    assert error_of(response, 400)["message"].startswith("updatePersonFields mask is required.")


@pytest.mark.parametrize("field", ["names", "biographies", "birthdays", "genders"])
async def test_singleton_fields_take_one_entry(api: httpx.AsyncClient, field: str) -> None:
    """names, biographies, birthdays and genders are singletons on contacts."""
    entry = {
        "names": {"givenName": "A"},
        "biographies": {"value": "b"},
        "birthdays": {"text": "x"},
        "genders": {"value": "male"},
    }[field]
    response = await api.post("/v1/people:createContact", json={field: [entry, entry]})
    assert "singleton" in error_of(response, 400)["message"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"bogus": 1}, 'Unknown name "bogus"'),
        ({"names": [{"givenName": 5}]}, "Invalid value at 'person.names[0].given_name'"),
        ({"names": {"givenName": "x"}}, "Invalid value at 'person.names'"),
        ({"names": [{"nope": "x"}]}, "Unknown name \"nope\" at 'person.names[0]'"),
        ({"organizations": [{"current": "yes"}]}, "(TYPE_BOOL)"),
        ({"birthdays": [{"date": {"year": "1990"}}]}, "(TYPE_INT32)"),
    ],
)
async def test_bad_bodies_are_400(api: httpx.AsyncClient, body: Any, fragment: str) -> None:
    """Unknown names and wrong JSON types get Google's 'Invalid JSON payload' style 400s."""
    error = error_of(await api.post("/v1/people:createContact", json=body), 400)
    assert fragment in error["message"]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


@pytest.mark.parametrize(
    "raw", [b"{", b"[1, 2]", b"\xff\xfe", b'"x"', b"null", b"[" * 100_000, b'{"a":' * 50_000]
)
async def test_malformed_json_is_400(api: httpx.AsyncClient, raw: bytes) -> None:
    """A body that is not a JSON object is a 400."""
    response = await api.post("/v1/people:createContact", content=raw)
    assert error_of(response, 400)["message"].startswith("Invalid JSON payload received.")


async def test_unknown_query_parameters_are_400(api: httpx.AsyncClient) -> None:
    """Google refuses query parameters a method does not have; standard ones are fine."""
    params = {"personFields": "names", "bogus": "1"}
    response = await api.get("/v1/people/me/connections", params=params)
    assert 'Unknown name "bogus"' in error_of(response, 400)["message"]
    params = {"personFields": "names", "prettyPrint": "false", "alt": "json"}
    assert (await api.get("/v1/people/me/connections", params=params)).status_code == 200


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"pageSize": "1001"}, "pageSize"),
        ({"pageSize": "-1"}, "pageSize"),
        ({"pageSize": "ten"}, "(TYPE_INT32)"),
        ({"requestSyncToken": "maybe"}, "(TYPE_BOOL)"),
        ({"sortOrder": "RANDOM"}, "sort_order"),
        ({"sources": "READ_SOURCE_TYPE_NOPE"}, "ReadSourceType"),
        ({"pageToken": "garbage"}, "page token"),
        ({"syncToken": "garbage"}, "sync token"),
    ],
)
async def test_connections_list_parameters_are_checked(
    api: httpx.AsyncClient, params: dict[str, str], fragment: str
) -> None:
    """pageSize is 1..1000 (0 = 100); enums, booleans and tokens are validated."""
    response = await api.get(
        "/v1/people/me/connections", params={"personFields": "names", **params}
    )
    assert fragment in error_of(response, 400)["message"]


async def test_connections_only_for_people_me(api: httpx.AsyncClient) -> None:
    """Only people/me has connections."""
    response = await api.get("/v1/people/c1/connections", params={"personFields": "names"})
    error_of(response, 400)


def _names(n: int) -> list[tuple[str, str]]:
    return [("resourceNames", f"people/c{i}") for i in range(n)]


async def test_batch_limits(api: httpx.AsyncClient) -> None:
    """getBatchGet 200, batchCreate 200, batchUpdate 200, batchDelete 500, modify 1000."""
    ok = await api.get("/v1/people:batchGet", params=[("personFields", "names"), *_names(200)])
    assert ok.status_code == 200
    assert len(ok.json()["responses"]) == 200
    assert ok.json()["responses"][0]["status"]["code"] == 5
    over = await api.get("/v1/people:batchGet", params=[("personFields", "names"), *_names(201)])
    assert "201" in error_of(over, 400)["message"]
    creates = {"contacts": [{"contactPerson": JANE}] * 201}
    error_of(await api.post("/v1/people:batchCreateContacts", json=creates), 400)
    updates = {
        "contacts": {f"people/c{i}": {"etag": "x"} for i in range(201)},
        "updateMask": "names",
    }
    error_of(await api.post("/v1/people:batchUpdateContacts", json=updates), 400)
    deletes = {"resourceNames": [f"people/c{i}" for i in range(501)]}
    error_of(await api.post("/v1/people:batchDeleteContacts", json=deletes), 400)
    modify = {
        "resourceNamesToAdd": [f"people/c{i}" for i in range(600)],
        "resourceNamesToRemove": [f"people/c{i}" for i in range(401)],
    }
    error_of(await api.post("/v1/contactGroups/starred/members:modify", json=modify), 400)
    groups = await api.get(
        "/v1/contactGroups:batchGet",
        params=[("resourceNames", f"contactGroups/g{i}") for i in range(201)],
    )
    error_of(groups, 400)


async def test_empty_batches_are_400(api: httpx.AsyncClient) -> None:
    """A batch write needs at least one item; batchUpdate needs an updateMask."""
    error_of(await api.post("/v1/people:batchCreateContacts", json={"contacts": []}), 400)
    error_of(await api.post("/v1/people:batchDeleteContacts", json={}), 400)
    person = await create(api)
    body = {"contacts": {person["resourceName"]: {"etag": person["etag"]}}}
    response = await api.post("/v1/people:batchUpdateContacts", json=body)
    assert error_of(response, 400)["message"].startswith("updateMask mask is required.")
    response = await api.get("/v1/people:batchGet", params={"personFields": "names"})
    error_of(response, 400)


async def test_the_last_membership_cannot_be_removed(api: httpx.AsyncClient) -> None:
    """Updating memberships to none is a 400; members:modify reports it and keeps the member."""
    person = await create(api)
    for memberships in ([], [{"metadata": {"primary": True}}]):
        body = {"etag": person["etag"], "memberships": memberships}
        response = await update(api, person, body, "memberships")
        assert "membership" in error_of(response, 400)["message"]
    body = {"resourceNamesToRemove": [person["resourceName"], "people/c999"]}
    response = await api.post("/v1/contactGroups/myContacts/members:modify", json=body)
    assert response.json() == {
        "notFoundResourceNames": ["people/c999"],
        "canNotRemoveLastContactGroupResourceNames": [person["resourceName"]],
    }


async def test_photos_must_be_jpeg_or_png(api: httpx.AsyncClient) -> None:
    """updateContactPhoto takes JPEG or PNG bytes and nothing else."""
    person = await create(api)
    path = f"/v1/{person['resourceName']}:updateContactPhoto"
    gif = base64.b64encode(b"GIF89a....").decode()
    error_of(await api.patch(path, json={"photoBytes": gif}), 400)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
    response = await api.patch(path, json={"photoBytes": png, "personFields": "photos"})
    assert response.status_code == 200, response.text
    photo = response.json()["person"]["photos"][0]
    assert "default" not in photo
    assert response.json()["person"]["etag"] != person["etag"]


async def test_search_needs_query_and_read_mask(api: httpx.AsyncClient) -> None:
    """searchContacts requires query and readMask."""
    error_of(await api.get("/v1/people:searchContacts", params={"readMask": "names"}), 400)
    response = await api.get("/v1/people:searchContacts", params={"query": "x"})
    assert error_of(response, 400)["message"].startswith("readMask mask is required.")


async def test_system_groups_cannot_be_changed(api: httpx.AsyncClient) -> None:
    """myContacts and starred cannot be renamed or deleted."""
    error_of(await api.delete("/v1/contactGroups/myContacts"), 400)
    error_of(await api.put("/v1/contactGroups/starred", json={"contactGroup": {"name": "x"}}), 400)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "names",
                    "givenName",
                    "value",
                    "etag",
                    "x",
                    "contacts",
                    "contactPerson",
                    "metadata",
                    "sources",
                    "date",
                ]
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=json_values,
    target=st.sampled_from(
        [
            ("POST", "/v1/people:createContact"),
            ("POST", "/v1/people:batchCreateContacts"),
            ("POST", "/v1/people:batchUpdateContacts?"),
            ("POST", "/v1/people:batchDeleteContacts"),
            ("POST", "/v1/contactGroups"),
            ("POST", "/v1/contactGroups/starred/members:modify"),
        ]
    ),
)
async def test_no_body_makes_a_500(body: Any, target: tuple[str, str]) -> None:
    """Whatever JSON arrives, the answer is a 2xx or a Google-style 4xx, never a 500."""
    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://e",
        headers={"Authorization": "Bearer t"},
    ) as client:
        response = await client.request(target[0], target[1], json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["error"]["message"]
