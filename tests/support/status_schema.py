"""The JSON Schema of ``/status``, read from where it is documented (docs/status.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DOC = Path(__file__).resolve().parents[2] / "docs" / "status.md"


def status_schema() -> dict[str, Any]:
    """The schema in the ```json block under "JSON Schema of `/status`" in docs/status.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## JSON Schema of `/status`", 1)[1]
    match = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert match, "docs/status.md has no ```json block under its JSON Schema heading"
    schema: dict[str, Any] = json.loads(match.group(1))
    Draft202012Validator.check_schema(schema)
    return schema


def validator(definition: str | None = None) -> Draft202012Validator:
    """A validator of the whole answer, or of one of its ``$defs`` (``account``)."""
    schema = status_schema()
    if definition is not None:
        schema = {
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "$ref": f"#/$defs/{definition}",
        }
    return Draft202012Validator(schema)
