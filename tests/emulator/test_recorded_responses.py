"""Real Google responses, recorded from public sources, against our client and the emulator.

Each file in tests/fixtures/google/ holds a response body quoted in a public issue thread, in
public code or in Google's reference pages (its ``sources``), with personal data replaced. Two
things are checked for each: our client classifies it as Google means it (a stale etag is a
StaleEtag, a quota error is RateLimited ...), and the emulator, put in the same situation,
answers a body of the same shape (every key of the real body present, with the same type) and,
where Google's wording is fixed, the same message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from reconciler.clock import ManualClock
from reconciler.emulator import Emulator
from reconciler.people import errors

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "google"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list by the shape of its first item."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def covers(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where ``actual`` lacks a key of ``expected`` or has another type there."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: not an object"]
        problems: list[str] = []
        for key, inner in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += covers(actual[key], inner, f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: not a list"]
        return covers(actual[0], expected[0], f"{path}[0]") if expected and actual else []
    kind = type(actual).__name__
    return [] if kind == expected else [f"{path}: {kind} is not {expected}"]


ALL = sorted(path.name for path in FIXTURES.glob("*.json"))
ERRORS = [name for name in ALL if "classifies_as" in load(name)]


def test_every_fixture_names_its_public_sources() -> None:
    """Each recorded body says where it comes from and what was changed."""
    assert ALL
    for name in ALL:
        data = load(name)
        assert data["sources"], name
        assert all(url.startswith("https://") for url in data["sources"]), name
        assert data["note"], name
        assert data["body"], name


@pytest.mark.parametrize("name", ERRORS)
def test_our_client_classifies_each_real_error_as_google_means_it(name: str) -> None:
    """The recorded status and body become the exception type the apply engine acts on."""
    data = load(name)
    error = errors.classify(data["status"], data["body"], method=data["method"])
    assert type(error).__name__ == data["classifies_as"]


async def _person(api: httpx.AsyncClient) -> dict[str, Any]:
    body = {"names": [{"givenName": "Ada"}], "emailAddresses": [{"value": "a@example.com"}]}
    created = await api.post("/v1/people:createContact", json=body)
    result: dict[str, Any] = created.json()
    return result


async def _answer(
    name: str, api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> httpx.Response:
    """The emulator's answer to the situation of fixture ``name``."""
    if name == "contact_groups_list.json":
        await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Group A"}})
        return await api.get("/v1/contactGroups")
    if name == "person_field_metadata.json":
        body = {"emailAddresses": [{"value": "someone@example.com", "type": "work"}]}
        return await api.post("/v1/people:createContact", json=body)
    if name == "expired_sync_token.json":
        first = await api.get(
            "/v1/people/me/connections",
            params={"personFields": "names", "requestSyncToken": "true"},
        )
        clock.advance(8 * 24 * 3600)
        params = {"personFields": "names", "syncToken": first.json()["nextSyncToken"]}
        return await api.get("/v1/people/me/connections", params=params)
    person = await _person(api)
    update = f"/v1/{person['resourceName']}:updateContact"
    mask = {"updatePersonFields": "names"}
    if name == "quota_critical_read.json":
        emulator.configure({"read_quota_per_minute": 1})
        await api.get(f"/v1/{person['resourceName']}", params={"personFields": "names"})
        return await api.patch(update, params=mask, json={"etag": person["etag"]})
    # a second write makes the etags read at creation stale
    await api.patch(
        update, params=mask, json={"etag": person["etag"], "names": [{"givenName": "B"}]}
    )
    if name == "stale_source_etag.json":
        source = person["metadata"]["sources"][0]
        return await api.patch(update, params=mask, json={"metadata": {"sources": [source]}})
    return await api.patch(update, params=mask, json={"etag": person["etag"]})


SHAPED = [name for name in ALL if name != "quota_fbs.json"]


@pytest.mark.parametrize("name", SHAPED)
async def test_the_emulator_answers_the_same_shape(
    name: str, api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    """In the recorded situation the emulator answers the same status and a body with every
    key of the real one; error messages are Google's own words."""
    data = load(name)
    answer = await _answer(name, api, emulator, clock)
    assert answer.status_code == data["status"], answer.text
    body = answer.json()
    expected = data["body"]
    if name == "contact_groups_list.json":
        real = {g["resourceName"]: g for g in expected["contactGroups"]}
        ours = {g["resourceName"]: g for g in body["contactGroups"]}
        system = {n for n, g in real.items() if g["groupType"] == "SYSTEM_CONTACT_GROUP"}
        assert system <= set(ours)
        for group in system:
            assert set(ours[group]) - {"memberCount"} == set(real[group]) - {"memberCount"}
        user = next(g for g in expected["contactGroups"] if g["groupType"] == "USER_CONTACT_GROUP")
        (mine,) = [g for g in body["contactGroups"] if g["groupType"] == "USER_CONTACT_GROUP"]
        assert covers(mine, shape({k: v for k, v in user.items() if k != "memberCount"})) == []
        return
    if name == "person_field_metadata.json":
        entry = body["emailAddresses"][0]
        assert entry["metadata"]["primary"] is True
        assert entry["metadata"]["sourcePrimary"] is True
        assert entry["metadata"]["source"]["type"] == "CONTACT"
        return
    assert covers(body, shape(expected)) == []
    assert body["error"]["message"] == expected["error"]["message"]
    assert body["error"]["status"] == expected["error"]["status"]
    ours = errors.classify(answer.status_code, body, retry_after=answer.headers.get("retry-after"))
    assert type(ours).__name__ == data["classifies_as"]


def test_google_client_sees_googles_error_bodies(people: Any, emulator_server: Any) -> None:
    """Over HTTP, google-api-python-client gets the source-etag message and a 429 whose
    ErrorInfo has domain googleapis.com and the quota metric, limit, service and consumer."""
    api = people.people()
    person = api.createContact(
        body={"names": [{"givenName": "Ada"}]}, personFields="metadata"
    ).execute()
    name = person["resourceName"]
    api.updateContact(
        resourceName=name,
        updatePersonFields="names",
        body={"etag": person["etag"], "names": [{"givenName": "B"}]},
    ).execute()
    with pytest.raises(HttpError) as stale:
        api.updateContact(
            resourceName=name,
            updatePersonFields="names",
            body={"metadata": {"sources": person["metadata"]["sources"]}},
        ).execute()
    assert stale.value.status_code == 400
    assert stale.value.reason == load("stale_source_etag.json")["body"]["error"]["message"]

    httpx.patch(emulator_server.url + "/__emulator/config", json={"read_quota_per_minute": 1})
    api.get(resourceName=name, personFields="names").execute()
    with pytest.raises(HttpError) as limited:
        api.get(resourceName=name, personFields="names").execute()
    assert limited.value.status_code == 429
    error = json.loads(limited.value.content)["error"]
    real = load("quota_critical_read.json")["body"]["error"]
    assert error["message"] == real["message"]
    assert error["details"][0]["domain"] == "googleapis.com"
    assert set(error["details"][0]["metadata"]) == set(real["details"][0]["metadata"])


def test_a_stale_source_etag_is_stale_by_its_message_alone() -> None:
    """Without the legacy errors[] (not every quote shows it), the source-etag message alone
    still classifies as a stale etag, not as a bad request."""
    body = load("stale_source_etag.json")["body"]
    bare = {"error": {k: v for k, v in body["error"].items() if k != "errors"}}
    assert isinstance(errors.classify(400, bare), errors.StaleEtag)
