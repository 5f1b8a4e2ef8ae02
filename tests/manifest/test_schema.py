"""The published JSON Schema matches the models, and editors using it agree with the loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.manifest.json_schema import SCHEMA_PATH, manifest_schema, render_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / SCHEMA_PATH).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_the_generated_one() -> None:
    """schema/reconciler-v1.json is regenerated (reconciler schema --out ...) with the models."""
    assert (ROOT / SCHEMA_PATH).read_text(encoding="utf-8") == render_schema()


def test_every_example_document_is_valid_under_the_schema(
    validator: jsonschema.Draft202012Validator,
) -> None:
    """What the examples show, an editor accepts."""
    documents = [
        document
        for path in sorted(EXAMPLES.rglob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
    ]
    assert len(documents) > 20
    for document in documents:
        assert list(validator.iter_errors(document)) == []


CONTACT: dict[str, Any] = {
    "apiVersion": "reconciler/v1",
    "kind": "Contact",
    "metadata": {"name": "ann"},
    "spec": {"emailAddresses": ["ann@example.com"]},
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "emailAddresses"), [{"value": "a@example.com", "formattedType": "Work"}]),
        (("spec", "names"), [{"givenName": "A"}, {"givenName": "B"}]),
        (("spec", "emial"), ["a@example.com"]),
        (("spec", "birthdays"), [{"date": {"month": 13, "day": 1}}]),
        (("metadata", "name"), "Not A Name"),
        (("metadata", "annotations"), {"reconciler/prune": False}),
        (("spec", "phoneNumbers"), None),
        (("kind",), "Person"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(
    validator: jsonschema.Draft202012Validator, path: tuple[str, ...], value: Any
) -> None:
    """Output-only fields, typos, second singleton entries, bad names and nulls are flagged."""
    document = json.loads(json.dumps(CONTACT))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert list(validator.iter_errors(document)) != []


def test_the_schema_picks_the_document_kind() -> None:
    """One schema covers both kinds, chosen by the kind field."""
    schema = manifest_schema()
    assert {ref["$ref"] for ref in schema["oneOf"]} == {
        "#/$defs/ContactDocument",
        "#/$defs/GroupDocument",
    }
