"""Contacts can be created, read, updated and deleted, with Google's output-only fields."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.emulator import BackgroundServer

JANE = {
    "names": [{"givenName": "Jane", "familyName": "Doe"}],
    "phoneNumbers": [{"value": "(650) 555-0100", "type": "mobile"}],
    "emailAddresses": [{"value": "jane@example.com", "type": "work"}],
}


async def create(api: httpx.AsyncClient, person: dict[str, Any] = JANE) -> dict[str, Any]:
    response = await api.post("/v1/people:createContact", json=person)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_returns_resource_name_etag_and_output_only_fields(
    api: httpx.AsyncClient,
) -> None:
    """A new contact gets a people/c<digits> name, an opaque etag and server-computed fields."""
    person = await create(api)
    assert re.fullmatch(r"people/c\d+", str(person["resourceName"]))
    assert str(person["etag"]).startswith("%Eg")
    name = person["names"][0]
    assert name["displayName"] == "Jane Doe"
    assert name["displayNameLastFirst"] == "Doe, Jane"
    assert name["metadata"]["primary"] is True
    assert name["metadata"]["source"]["type"] == "CONTACT"
    phone = person["phoneNumbers"][0]
    assert phone["canonicalForm"] == "+16505550100"
    assert phone["formattedType"] == "Mobile"
    assert person["emailAddresses"][0]["formattedType"] == "Work"
    source = person["metadata"]["sources"][0]
    assert source["type"] == "CONTACT"
    assert source["etag"]
    assert source["updateTime"].endswith("Z")
    assert int(source["id"], 16) == int(str(person["resourceName"])[len("people/c") :])


async def test_new_contacts_land_in_my_contacts(api: httpx.AsyncClient) -> None:
    """Every new contact is a member of contactGroups/myContacts."""
    person = await create(api)
    groups = [
        m["contactGroupMembership"]["contactGroupResourceName"] for m in person["memberships"]
    ]
    assert groups == ["contactGroups/myContacts"]


async def test_get_returns_only_requested_fields(api: httpx.AsyncClient) -> None:
    """people.get answers resourceName, etag and exactly the personFields asked for."""
    person = await create(api)
    response = await api.get(f"/v1/{person['resourceName']}", params={"personFields": "names"})
    assert response.status_code == 200
    assert set(response.json()) == {"resourceName", "etag", "names"}


async def test_update_replaces_masked_fields_and_changes_the_etag(api: httpx.AsyncClient) -> None:
    """updateContact replaces listed fields whole, keeps the others, and issues a new etag."""
    person = await create(api)
    response = await api.patch(
        f"/v1/{person['resourceName']}:updateContact",
        params={"updatePersonFields": "phoneNumbers", "personFields": "names,phoneNumbers"},
        json={"etag": person["etag"], "phoneNumbers": [{"value": "+44 20 7946 0000"}]},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["etag"] != person["etag"]
    assert [p["value"] for p in updated["phoneNumbers"]] == ["+44 20 7946 0000"]
    assert updated["names"][0]["givenName"] == "Jane"


async def test_delete_then_get_is_not_found(api: httpx.AsyncClient) -> None:
    """deleteContact answers {} and the contact is gone."""
    person = await create(api)
    response = await api.delete(f"/v1/{person['resourceName']}:deleteContact")
    assert (response.status_code, response.json()) == (200, {})
    response = await api.get(f"/v1/{person['resourceName']}", params={"personFields": "names"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Requested entity was not found."


async def test_each_user_has_an_address_book(app: Starlette) -> None:
    """A user:<email> token selects that user's contacts; others do not see them."""
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(
            transport=transport, base_url="http://e", headers={"Authorization": "Bearer user:a@x"}
        ) as alice,
        httpx.AsyncClient(
            transport=transport, base_url="http://e", headers={"Authorization": "Bearer other"}
        ) as other,
    ):
        person = await create(alice)
        path = f"/v1/{person['resourceName']}"
        assert (await alice.get(path, params={"personFields": "names"})).status_code == 200
        assert (await other.get(path, params={"personFields": "names"})).status_code == 404


async def test_no_token_is_401(app: Starlette) -> None:
    """A request without a bearer token is UNAUTHENTICATED."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://e") as c:
        response = await c.get("/v1/people/me/connections", params={"personFields": "names"})
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_fixtures_serve_over_http(emulator_server: BackgroundServer) -> None:
    """The shared emulator_server fixture answers real HTTP on 127.0.0.1."""
    assert emulator_server.url.startswith("http://127.0.0.1:")
    response = httpx.post(
        f"{emulator_server.url}/v1/people:createContact",
        json=JANE,
        headers={"Authorization": "Bearer user:bob@example.com"},
    )
    assert response.status_code == 200
    assert emulator_server.app.state.emulator.books["bob@example.com"].people


def test_emulator_app_fixture_is_fresh(emulator_app: Starlette) -> None:
    """The shared emulator_app fixture starts with no contacts and every knob off."""
    emulator = emulator_app.state.emulator
    assert emulator.books == {}
    assert emulator.config.error_rate == 0


@pytest.mark.parametrize("path", ["/v1/nothing", "/v2/people/c1"])
async def test_unknown_paths_get_a_google_404(api: httpx.AsyncClient, path: str) -> None:
    """Unknown paths answer a JSON 404, not an HTML page."""
    response = await api.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"


async def test_echoing_a_read_person_back_changes_nothing_but_the_etag(
    api: httpx.AsyncClient,
) -> None:
    """Output-only fields sent back in an update are ignored: no phantom changes."""
    rich = {
        **JANE,
        "addresses": [{"streetAddress": "1 Main St", "city": "Springfield", "type": "home"}],
        "genders": [{"value": "female"}],
        "imClients": [{"username": "jd", "protocol": "jabber"}],
        "urls": [{"value": "https://example.com", "type": "homePage"}],
        "clientData": [{"key": "reconciler.owner", "value": "repo"}],
    }
    person = await create(api, rich)
    fields = "names,phoneNumbers,emailAddresses,addresses,genders,imClients,urls,clientData"
    response = await api.patch(
        f"/v1/{person['resourceName']}:updateContact",
        params={"updatePersonFields": f"{fields},memberships", "personFields": fields},
        json=person,
    )
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert echoed.pop("etag") != person["etag"]
    assert echoed == {k: v for k, v in person.items() if k in {"resourceName", *fields.split(",")}}


async def test_people_me_is_the_users_profile(api: httpx.AsyncClient) -> None:
    """people/me answers the signed-in user's profile with their email address."""
    response = await api.get("/v1/people/me", params={"personFields": "names,emailAddresses"})
    assert response.status_code == 200
    me = response.json()
    assert re.fullmatch(r"people/\d+", me["resourceName"])
    assert me["emailAddresses"][0]["value"] == "alice@example.com"
    assert me["names"][0]["displayName"] == "alice"


async def test_an_address_keeps_the_formatted_value_a_client_wrote(api: httpx.AsyncClient) -> None:
    """An address's formattedValue is writable: kept when set, built from parts otherwise."""
    person = await create(
        api,
        {
            "addresses": [
                {"formattedValue": "200 Example Avenue, Brooklyn, NY 11201", "type": "work"},
                {"streetAddress": "1 Main St", "city": "Springfield", "type": "home"},
            ]
        },
    )
    written, built = person["addresses"]
    assert written["formattedValue"] == "200 Example Avenue, Brooklyn, NY 11201"
    assert built["formattedValue"] == "1 Main St\nSpringfield"
