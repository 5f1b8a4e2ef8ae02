"""The manifest models are the People API's own writable Person fields, checked against the
discovery document that ships with google-api-python-client (the authority on names, shapes and
enumerations)."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import googleapiclient
import pytest
from pydantic import BaseModel

from reconciler.manifest import ContactSpec
from reconciler.manifest.fields import Date

DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache/documents/people.v1.json"
SCHEMAS: dict[str, Any] = json.loads(DISCOVERY.read_text(encoding="utf-8"))["schemas"]

# Writable Person fields a manifest does not hold: the controller owns clientData (ownership
# stamps) and memberships (spec.groups); the rest are deprecated or profile-only in the API.
NOT_IN_MANIFESTS = {
    "clientData",
    "memberships",
    "etag",
    "resourceName",
    "braggingRights",
    "fileAses",
    "residences",
    "relationshipInterests",
    "relationshipStatuses",
    "taglines",
    "skills",
    "ageRange",
    "ageRanges",
    "coverPhotos",
    "photos",
    "metadata",
}


def entry_model(field: str) -> type[BaseModel]:
    stack: list[Any] = [ContactSpec.model_fields[field].annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            return current
        stack.extend(typing.get_args(current))
    raise LookupError(field)


def api_schema(field: str) -> dict[str, Any]:
    ref = SCHEMAS["Person"]["properties"][field]["items"]["$ref"]
    return dict(SCHEMAS[ref])


def writable(schema: dict[str, Any]) -> set[str]:
    return {
        name
        for name, prop in schema["properties"].items()
        if not prop.get("readOnly")
        and name != "metadata"
        and not prop.get("description", "").startswith("Output only")
    }


PERSON_FIELDS = sorted(name for name in ContactSpec.model_fields if name != "groups")


def test_the_spec_covers_every_writable_person_field() -> None:
    """Every writable Person field is a spec field, except those the controller owns."""
    person = SCHEMAS["Person"]["properties"]
    api_writable = {
        name
        for name, prop in person.items()
        if not prop.get("readOnly") and not prop.get("deprecated")
    } - NOT_IN_MANIFESTS
    assert set(PERSON_FIELDS) == api_writable


@pytest.mark.parametrize("field", PERSON_FIELDS)
def test_entries_have_exactly_the_api_writable_sub_fields(field: str) -> None:
    """Same sub-field names as the API; no output-only ones (formattedType, displayName...)."""
    model = entry_model(field)
    assert set(model.model_fields) == writable(api_schema(field)), model.__name__


@pytest.mark.parametrize("field", PERSON_FIELDS)
def test_enumerations_match_the_api(field: str) -> None:
    """Where the API enumerates values, the manifest accepts exactly those."""
    model = entry_model(field)
    for name, prop in api_schema(field)["properties"].items():
        if "enum" in prop and name in model.model_fields:
            annotation = model.model_fields[name].annotation
            literal = next(a for a in typing.get_args(annotation) if typing.get_args(a))
            assert set(typing.get_args(literal)) == set(prop["enum"]), (field, name)


def test_dates_have_the_api_shape() -> None:
    """Date is {year, month, day}, all optional integers, as in the API."""
    assert set(Date.model_fields) == set(SCHEMAS["Date"]["properties"])
