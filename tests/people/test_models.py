"""Wire models keep every field they were given, known or not."""

from __future__ import annotations

import copy

from reconciler.people.models import (
    BatchCreateContactsRequest,
    BatchUpdateContactsResponse,
    ContactGroup,
    ContactToCreate,
    Person,
)

PERSON = {
    "resourceName": "people/c123",
    "etag": "%EgYBAgMuNz0aBAECBQc=",
    "metadata": {
        "sources": [{"type": "CONTACT", "id": "123", "etag": "#abc", "futureField": 1}],
        "objectType": "PERSON",
    },
    "names": [{"givenName": "Jane", "displayName": "Jane Doe", "metadata": {"primary": True}}],
    "clientData": [{"key": "reconciler.owner", "value": "repo-x", "metadata": {}}],
    "skills": [{"value": "juggling"}],
    "somethingGoogleAddsNextYear": {"nested": [1, 2]},
}


def test_unknown_fields_survive_a_round_trip() -> None:
    """to_api() returns exactly what was read, unknown fields included."""
    person = Person.model_validate(copy.deepcopy(PERSON))
    assert person.to_api() == PERSON
    assert person.resource_name == "people/c123"
    assert person.client_data is not None
    assert person.client_data[0].key == "reconciler.owner"


def test_read_modify_write_keeps_what_it_did_not_touch() -> None:
    """Changing one modelled field leaves every other field, modelled or not, in place."""
    person = Person.model_validate(copy.deepcopy(PERSON))
    person.names = [{"givenName": "Janet"}]
    out = person.to_api()
    assert out["names"] == [{"givenName": "Janet"}]
    assert out["somethingGoogleAddsNextYear"] == {"nested": [1, 2]}
    assert out["metadata"]["sources"][0]["futureField"] == 1


def test_tombstones_are_recognised() -> None:
    """A sync-token tombstone says deleted."""
    assert Person.model_validate(
        {"resourceName": "people/c1", "metadata": {"deleted": True}}
    ).deleted
    assert not Person.model_validate(PERSON).deleted


def test_batch_shapes_serialise_in_camel_case() -> None:
    """Requests built from snake_case names go out camelCase; responses parse nested persons."""
    request = BatchCreateContactsRequest(
        contacts=[ContactToCreate(contact_person=Person(names=[{"givenName": "A"}]))],
        read_mask="names",
    )
    assert request.to_api() == {
        "contacts": [{"contactPerson": {"names": [{"givenName": "A"}]}}],
        "readMask": "names",
    }
    response = BatchUpdateContactsResponse.model_validate(
        {"updateResult": {"people/c1": {"person": PERSON, "httpStatusCode": 200}}}
    )
    assert response.update_result["people/c1"].person is not None
    group = ContactGroup.model_validate({"resourceName": "contactGroups/1", "name": "x", "z": 2})
    assert group.to_api() == {"resourceName": "contactGroups/1", "name": "x", "z": 2}
