"""Names in either form, and per-entry field metadata, as Google returns them.

Sources:
- names: the discovery document's Name schema (``unstructuredName``, "The free form name
  value", beside the structured parts) and docs/people-api.md "Names": Google parses a
  free-form name into given and family names (its best guess) and renders the free form of a
  structured one;
- field metadata: the discovery document's FieldMetadata (``primary``: "Each person will have at
  most one field with primary set to true"; ``sourcePrimary``: likewise per source) and a real
  response quoted in https://github.com/fleapower/Google-Script-Contacts-Sync/issues/14
  (``"metadata":{"primary":true,"sourcePrimary":true,"source":{"type":"CONTACT"}}`` on the
  primary entry; recorded in tests/fixtures/google/person_field_metadata.json).
"""

from __future__ import annotations

from typing import Any

import httpx

FIELDS = {"personFields": "names,emailAddresses,phoneNumbers,memberships"}


async def _create(api: httpx.AsyncClient, person: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/v1/people:createContact", params=FIELDS, json=person)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_unstructured_name_comes_back_parsed(api: httpx.AsyncClient) -> None:
    """A name written only as unstructuredName is read back with given, middle and family
    names, and keeps the free form as written."""
    person = await _create(api, {"names": [{"unstructuredName": "Ada King Lovelace"}]})
    name = person["names"][0]
    assert name["unstructuredName"] == "Ada King Lovelace"
    assert (name["givenName"], name["middleName"], name["familyName"]) == (
        "Ada",
        "King",
        "Lovelace",
    )
    assert name["displayName"] == "Ada King Lovelace"
    got = (await api.get(f"/v1/{person['resourceName']}", params=FIELDS)).json()
    assert got["names"][0]["familyName"] == "Lovelace"


async def test_structured_name_comes_back_with_its_free_form(api: httpx.AsyncClient) -> None:
    """A name written as parts is read back with unstructuredName filled in."""
    person = await _create(api, {"names": [{"givenName": "Grace", "familyName": "Hopper"}]})
    assert person["names"][0]["unstructuredName"] == "Grace Hopper"


async def test_only_the_primary_entry_carries_primary_flags(api: httpx.AsyncClient) -> None:
    """The first entry of each field has primary and sourcePrimary true; the others have no
    primary key at all (never ``primary: false``); memberships have no primary entry."""
    person = await _create(
        api,
        {
            "names": [{"givenName": "Ada"}],
            "emailAddresses": [{"value": "a@example.com"}, {"value": "b@example.com"}],
            "phoneNumbers": [{"value": "+1 650 555 0100"}, {"value": "+1 650 555 0101"}],
        },
    )
    for field in ("names", "emailAddresses", "phoneNumbers"):
        first, *others = person[field]
        assert first["metadata"]["primary"] is True
        assert first["metadata"]["sourcePrimary"] is True
        assert first["metadata"]["source"]["type"] == "CONTACT"
        for entry in others:
            assert "primary" not in entry["metadata"]
            assert "sourcePrimary" not in entry["metadata"]
    assert "primary" not in person["memberships"][0]["metadata"]
