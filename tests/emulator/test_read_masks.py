"""Read masks on batch writes: an empty one returns no person, so our client never sends one.

Source: the discovery document (google-api-python-client's people.v1.json),
BatchCreateContactsRequest.readMask and BatchUpdateContactsRequest.readMask: "Required. ... If
read mask is left empty, the post-mutate-get is skipped and no data will be returned in the
response." The apply engine relies on each created or updated person's resourceName and etag,
so it must always ask for at least ``metadata`` (docs/people-api.md, "Batch writes").
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from reconciler.apply.gateway import PERSON_FIELDS, WRITE_ANSWER_FIELDS, ClientGateway
from reconciler.people import connect
from tests.support.pacing import UNPACED
from tests.support.world import TOKEN


def test_google_client_gets_no_person_back_without_a_read_mask(people: Any) -> None:
    """Over HTTP, batchCreateContacts and batchUpdateContacts answer no person data for an
    empty readMask, and the asked-for fields otherwise."""
    api = people.people()
    contacts = [{"contactPerson": {"names": [{"givenName": "Ada"}]}}]
    bare = api.batchCreateContacts(body={"contacts": contacts, "readMask": ""}).execute()
    assert bare["createdPeople"] == [{"httpStatusCode": 200, "status": {}}]
    full = api.batchCreateContacts(body={"contacts": contacts, "readMask": "names"}).execute()
    person = full["createdPeople"][0]["person"]
    assert person["names"][0]["givenName"] == "Ada"
    update = {
        "contacts": {
            person["resourceName"]: {"etag": person["etag"], "names": [{"givenName": "B"}]}
        },
        "updateMask": "names",
        "readMask": "",
    }
    answer = api.batchUpdateContacts(body=update).execute()["updateResult"]
    assert "person" not in answer[person["resourceName"]]


async def test_our_client_always_asks_for_identity(app: Starlette) -> None:
    """Even when told to read nothing, the client sends a read mask, so every created and
    updated person comes back with its resource name and etag; the apply gateway's reads ask
    for metadata and every writable field, its writes for the metadata and the stamp."""
    assert "metadata" in PERSON_FIELDS
    assert set(WRITE_ANSWER_FIELDS) == {"metadata", "clientData"}
    async with connect("embedded", app=app, token=TOKEN, config=UNPACED) as client:
        created = await client.batch_create([{"names": [{"givenName": "Ada"}]}], read_mask="")
        assert created[0].resource_name is not None
        assert created[0].etag is not None
        name = created[0].resource_name
        body = {"etag": created[0].etag, "names": [{"givenName": "Grace"}]}
        updated = await client.batch_update({name: body}, "names", read_mask="")
        assert updated[name].etag is not None
        assert updated[name].etag != created[0].etag
        through_gateway = await ClientGateway(client).batch_create(
            [{"names": [{"givenName": "L"}]}]
        )
        (person,) = through_gateway
        assert isinstance(person, dict)
        assert person["resourceName"].startswith("people/c")
        assert person["etag"]
        assert "metadata" in person


def test_write_answers_carry_exactly_the_fields_asked_for(people: Any) -> None:
    """Over HTTP, every contact write answers the resource name, the etag and the fields of its
    read mask (``readMask``, or ``personFields`` on the single-contact methods), and nothing
    else: a field not asked for is left out even when the contact has it."""
    api = people.people()
    stamp = [{"key": "reconciler.owner", "value": "o"}]
    contact = {"names": [{"givenName": "Ada"}], "clientData": stamp}
    body = {"contacts": [{"contactPerson": contact}], "readMask": "clientData,metadata"}
    created = api.batchCreateContacts(body=body).execute()["createdPeople"][0]["person"]
    assert set(created) == {"resourceName", "etag", "clientData", "metadata"}
    assert [(e["key"], e["value"]) for e in created["clientData"]] == [("reconciler.owner", "o")]
    name = created["resourceName"]
    update = {
        "contacts": {name: {"etag": created["etag"], "names": [{"givenName": "Grace"}]}},
        "updateMask": "names",
        "readMask": "metadata",
    }
    updated = api.batchUpdateContacts(body=update).execute()["updateResult"][name]["person"]
    assert set(updated) == {"resourceName", "etag", "metadata"}
    single = api.updateContact(
        resourceName=name,
        updatePersonFields="biographies",
        personFields="clientData",
        body={"etag": updated["etag"], "biographies": [{"value": "b"}]},
    ).execute()
    assert set(single) == {"resourceName", "etag", "clientData"}
    one = api.createContact(personFields="metadata", body={"names": [{"givenName": "L"}]}).execute()
    assert set(one) == {"resourceName", "etag", "metadata"}
