"""The emulator serves Google's paths, methods, parameters and schemas.

The authority is the People API discovery document shipped inside google-api-python-client;
it is read here, in the tests, and never copied into the package.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import googleapiclient
import pytest

from reconciler.emulator import create_app
from reconciler.emulator.routing import METHODS, STANDARD_PARAMS
from reconciler.emulator.schema import PERSON_LIST_FIELDS, SCHEMAS, WRITABLE_FIELDS

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache/documents/people.v1.json"
SERVED = {
    "people.people.get",
    "people.people.getBatchGet",
    "people.people.connections.list",
    "people.people.createContact",
    "people.people.updateContact",
    "people.people.deleteContact",
    "people.people.batchCreateContacts",
    "people.people.batchUpdateContacts",
    "people.people.batchDeleteContacts",
    "people.people.searchContacts",
    "people.people.updateContactPhoto",
    "people.contactGroups.list",
    "people.contactGroups.get",
    "people.contactGroups.batchGet",
    "people.contactGroups.create",
    "people.contactGroups.update",
    "people.contactGroups.delete",
    "people.contactGroups.members.modify",
}


def _methods(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for method in resource.get("methods", {}).values():
        found[method["id"]] = method
    for child in resource.get("resources", {}).values():
        found |= _methods(child)
    return found


@pytest.fixture(scope="module")
def discovery() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DISCOVERY.read_text())
    return document


def test_every_method_of_the_table_is_served() -> None:
    """Each method in docs/people-api.md's table has a route."""
    create_app()
    assert set(METHODS) >= SERVED


@pytest.mark.parametrize("method_id", sorted(SERVED))
def test_paths_methods_and_parameters_match_discovery(
    discovery: dict[str, Any], method_id: str
) -> None:
    """HTTP method, path template and accepted query parameters are Google's."""
    create_app()
    google = _methods(discovery)[method_id]
    ours = METHODS[method_id]
    assert ours.http_method == google["httpMethod"]
    expected_path = "/" + google["flatPath"]
    for name in ("peopleId", "contactGroupsId"):
        expected_path = expected_path.replace("{" + name + "}", "{}")
    actual_path = ours.path.replace("{person_id}", "{}").replace("{group_id}", "{}")
    assert actual_path == expected_path
    google_query = {
        name for name, p in google.get("parameters", {}).items() if p["location"] == "query"
    }
    assert ours.params <= google_query
    path_only = {"resourceName"}  # sent in the path, never as a query parameter
    assert google_query - path_only <= ours.params


def test_standard_parameters_are_googles(discovery: dict[str, Any]) -> None:
    """The parameters every Google method accepts are accepted everywhere."""
    assert set(discovery["parameters"]) == STANDARD_PARAMS


def _discovery_kind(prop: dict[str, Any]) -> Any:
    if prop.get("type") == "array":
        return [_discovery_kind(prop["items"])]
    if "$ref" in prop:
        return prop["$ref"]
    return {"string": "string", "boolean": "bool", "integer": "int"}[prop["type"]]


@pytest.mark.parametrize("schema", sorted(SCHEMAS))
def test_schemas_match_discovery(discovery: dict[str, Any], schema: str) -> None:
    """Every field of every Person sub-schema has Google's name and JSON type."""
    google = discovery["schemas"][schema]["properties"]
    ours = SCHEMAS[schema]
    assert set(ours) == set(google)
    for name, kind in ours.items():
        assert kind == _discovery_kind(google[name]), name


def test_person_fields_are_all_known(discovery: dict[str, Any]) -> None:
    """Every list field of Person has a schema, and every writable field exists."""
    person = discovery["schemas"]["Person"]["properties"]
    assert set(PERSON_LIST_FIELDS) == {k for k, v in person.items() if v.get("type") == "array"}
    assert set(person) >= WRITABLE_FIELDS
