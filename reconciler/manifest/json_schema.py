"""The JSON Schema of manifests, generated from the pydantic models.

Editors (yaml-language-server and everything built on it) validate and complete manifests as
people type when a file points at this schema, so it is committed at a stable path
(``schema/reconciler-v1.json``) and a test keeps that copy equal to what the models generate.
The schema says what the loader accepts: no ``null`` values (the loader rejects them), bare
strings where an entry is only a value, and one schema per YAML document, chosen by ``kind``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from reconciler.manifest.resources import ContactDocument, GroupDocument

SCHEMA_PATH = "schema/reconciler-v1.json"

Manifest = Annotated[ContactDocument | GroupDocument, Field(discriminator="kind")]


class _ManifestSchema(GenerateJsonSchema):
    """Pydantic's generator, minus what the loader would refuse anyway."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Emailaddresses" helps nobody; the property name says it

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # Optional fields may be left out, never written as null.
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        inner = super().default_schema(schema)
        if inner.get("default") in (None, [], {}):
            inner.pop("default", None)
        return inner


def manifest_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one manifest document."""
    schema = TypeAdapter(Manifest).json_schema(schema_generator=_ManifestSchema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "contacts-reconciler manifest (reconciler/v1)",
        "description": (
            "A Contact or ContactGroup manifest. Contact specs use the People API's own Person "
            "field names and shapes; output-only fields are not allowed."
        ),
        **schema,
    }


def render_schema() -> str:
    """The schema as committed: indented JSON with a trailing newline."""
    return json.dumps(manifest_schema(), indent=2, ensure_ascii=False) + "\n"
