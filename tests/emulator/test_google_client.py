"""Compatibility with a client nobody here wrote: google-api-python-client over real HTTP.

The emulator runs on 127.0.0.1 with uvicorn; Google's own discovery-based client, built from the
discovery document it ships, talks to it exactly as it would talk to people.googleapis.com.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from reconciler.emulator.errors import (
    NOT_FOUND_MESSAGE,
    STALE_ETAG_MESSAGE,
    STALE_GROUP_ETAG_MESSAGE,
)


def create(people: Any, given: str, email: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"names": [{"givenName": given}]}
    if email:
        body["emailAddresses"] = [{"value": email}]
    result: dict[str, Any] = (
        people.people().createContact(body=body, personFields="names,emailAddresses").execute()
    )
    return result


def stats(server: Any) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(server.url + "/__emulator/stats").json()
    return result


def test_create_get_update_round_trip(people: Any) -> None:
    """A contact created by Google's client can be read back and updated with its etag."""
    created = create(people, "Ada", "ada@example.com")
    name = created["resourceName"]
    assert name.startswith("people/c")
    assert created["names"][0]["displayName"] == "Ada"

    fetched = people.people().get(resourceName=name, personFields="names,emailAddresses").execute()
    assert fetched["resourceName"] == name
    assert fetched["emailAddresses"][0]["value"] == "ada@example.com"

    fetched["names"] = [{"givenName": "Ada", "familyName": "Lovelace"}]
    updated = (
        people.people()
        .updateContact(
            resourceName=name, body=fetched, updatePersonFields="names", personFields="names"
        )
        .execute()
    )
    assert updated["names"][0]["displayName"] == "Ada Lovelace"
    assert updated["etag"] != fetched["etag"]


def test_stale_etag_is_http_error_400_with_googles_message(people: Any) -> None:
    """An update with an outdated etag surfaces as HttpError 400 with Google's exact message."""
    created = create(people, "Grace")
    name, old_etag = created["resourceName"], created["etag"]
    people.people().updateContact(
        resourceName=name,
        body={"etag": old_etag, "names": [{"givenName": "Grace", "familyName": "Hopper"}]},
        updatePersonFields="names",
    ).execute()

    with pytest.raises(HttpError) as caught:
        people.people().updateContact(
            resourceName=name,
            body={"etag": old_etag, "names": [{"givenName": "Amazing Grace"}]},
            updatePersonFields="names",
        ).execute()
    assert caught.value.status_code == 400
    assert caught.value.reason == STALE_ETAG_MESSAGE
    error = json.loads(caught.value.content)["error"]
    assert error["status"] == "FAILED_PRECONDITION"
    assert error["errors"][0]["reason"] == "failedPrecondition"


def test_connections_list_pages_through_every_contact(people: Any) -> None:
    """list_next follows nextPageToken until every contact was seen once; the sync token
    comes on the last page only."""
    created = {create(people, f"P{i}")["resourceName"] for i in range(5)}
    connections = people.people().connections()
    request = connections.list(
        resourceName="people/me", personFields="names", pageSize=2, requestSyncToken=True
    )
    pages = []
    while request is not None:
        page = request.execute()
        pages.append(page)
        request = connections.list_next(request, page)
    seen = [person["resourceName"] for page in pages for person in page.get("connections", [])]
    assert len(pages) == 3
    assert sorted(seen) == sorted(created)
    assert all("nextSyncToken" not in page for page in pages[:-1])
    assert "nextSyncToken" in pages[-1]


def test_batch_http_request_answers_every_callback_by_request_id(
    people: Any, emulator_server: Any
) -> None:
    """A BatchHttpRequest of several calls, one failing, pairs each answer with its request."""
    ada = create(people, "Ada")
    grace = create(people, "Grace")
    before = stats(emulator_server)["by_status"]
    results: dict[str, tuple[Any, HttpError | None]] = {}

    def callback(request_id: str, response: Any, exception: HttpError | None) -> None:
        results[request_id] = (response, exception)

    batch = BatchHttpRequest(callback=callback, batch_uri=emulator_server.url + "/batch")
    api = people.people()
    batch.add(api.get(resourceName=ada["resourceName"], personFields="names"), request_id="ada")
    batch.add(api.get(resourceName="people/c999999", personFields="names"), request_id="missing")
    batch.add(
        api.updateContact(
            resourceName=grace["resourceName"],
            body={"etag": grace["etag"], "names": [{"givenName": "Grace", "familyName": "H"}]},
            updatePersonFields="names",
            personFields="names",
        ),
        request_id="grace",
    )
    batch.add(api.createContact(body={"names": [{"givenName": "Linus"}]}), request_id="new")
    batch.add(api.get(resourceName=grace["resourceName"], personFields="names"))
    batch.execute()

    assert set(results) == {"ada", "missing", "grace", "new", "1"}
    assert results["ada"][1] is None
    assert results["ada"][0]["resourceName"] == ada["resourceName"]
    missing_response, missing_error = results["missing"]
    assert missing_response is None
    assert missing_error is not None
    assert missing_error.status_code == 404
    assert missing_error.reason == NOT_FOUND_MESSAGE
    assert results["grace"][1] is None
    assert results["grace"][0]["names"][0]["displayName"] == "Grace H"
    assert results["new"][0]["resourceName"].startswith("people/c")
    assert results["1"][0]["resourceName"] == grace["resourceName"]

    after = stats(emulator_server)["by_status"]
    assert after.get("200", 0) - before.get("200", 0) == 4
    assert after.get("404", 0) - before.get("404", 0) == 1


def test_get_batch_get_takes_repeated_resource_names(people: Any) -> None:
    """getBatchGet as the client encodes it (resourceNames repeated) answers each name."""
    names = [create(people, given)["resourceName"] for given in ("Ada", "Grace")]
    result = (
        people.people()
        .getBatchGet(resourceNames=[*names, "people/c1"], personFields="names")
        .execute()
    )
    responses = {r["requestedResourceName"]: r for r in result["responses"]}
    assert set(responses) == {*names, "people/c1"}
    assert responses[names[0]]["person"]["names"][0]["givenName"] == "Ada"
    assert responses["people/c1"]["status"]["code"] == 5  # NOT_FOUND
    assert "person" not in responses["people/c1"]


def test_contact_group_round_trip_and_stale_group_etag_is_409(people: Any) -> None:
    """Groups created, renamed with their etag and listed; a stale group etag is HttpError 409."""
    groups = people.contactGroups()
    group = groups.create(body={"contactGroup": {"name": "Sales"}}).execute()
    renamed = groups.update(
        resourceName=group["resourceName"],
        body={"contactGroup": {"name": "Sales team", "etag": group["etag"]}},
    ).execute()
    assert renamed["name"] == "Sales team"
    listed = groups.list().execute()["contactGroups"]
    assert "Sales team" in [g.get("name") for g in listed]

    with pytest.raises(HttpError) as caught:
        groups.update(
            resourceName=group["resourceName"],
            body={"contactGroup": {"name": "Sales again", "etag": group["etag"]}},
        ).execute()
    assert caught.value.status_code == 409
    assert caught.value.reason == STALE_GROUP_ETAG_MESSAGE
