"""Turn pydantic validation errors into located, kind manifest errors.

Pydantic reports *what* is wrong as a path of keys and indexes (``spec.emailAddresses.0.value``);
the YAML nodes know *where* each of those was written. Walking the path down the node tree gives
the line and column, and the error type gives a message written for a person editing YAML, with
a hint that says what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifest.errors import ManifestError
from reconciler.manifest.fields import OUTPUT_ONLY, VALUE_ENTRIES
from reconciler.manifest.resources import KNOWN_ANNOTATIONS, NAME_PATTERN
from reconciler.manifest.safeyaml import where
from reconciler.model.fields import SINGLETON_FIELDS

_VALUE_ENTRY_NAMES = frozenset(model.__name__ for model in VALUE_ENTRIES)


def node_at(root: Node, loc: Sequence[int | str], *, key: bool = False) -> Node:
    """The node a validation path points at (its key node when ``key``), or the closest parent."""
    node = root
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.value == str(part):
                    node = key_node if key and last else value_node
                    break
            else:
                return node
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def describe(value: Any) -> str:
    """What kind of YAML value this is, for an error message.

    Never the value itself: messages end up in CI logs and the controller's logs, and a
    manifest's values are personal data. The location already says where to look.
    Booleans are the exception, since ``NO`` read as ``false`` is the surprise to explain.
    """
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def suggest(name: str, choices: Sequence[str]) -> str | None:
    """The choice ``name`` was probably meant to be (a typo, or a truncated field name)."""
    heads = {choice[: len(name) + 1]: choice for choice in choices}
    close = difflib.get_close_matches(name, [*choices, *heads], n=1)
    return heads.get(close[0], close[0]) if close else None


def _field_path(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) or "the document"


def _allowed_fields(model: type[BaseModel] | None) -> list[str]:
    return sorted(model.model_fields) if model is not None else []


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``loc`` (for listing allowed fields)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        model = _inner_model(info.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or getattr(annotation, "__metadata__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    origin = getattr(annotation, "__origin__", None)
    return _inner_model(origin) if origin is not None else None


def translate(
    exc: ValidationError, node: Node, path: str, model: type[BaseModel]
) -> list[ManifestError]:
    """Located manifest errors for every pydantic error of one document."""
    errors: list[ManifestError] = []
    seen: set[tuple[int, int, str]] = set()
    for detail in exc.errors(include_url=False):
        loc = _clean_loc(detail["loc"])
        error = _one(detail, loc, node, path, model)
        marker = (error.line, error.col, error.message)
        if marker not in seen:
            seen.add(marker)
            errors.append(error)
    return errors


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """Drop pydantic's union/function tags so the path names only keys and indexes."""
    return tuple(
        part
        for part in loc
        if isinstance(part, int) or not (part in _VALUE_ENTRY_NAMES or part.startswith("function-"))
    )


def _one(
    detail: ErrorDetails,
    loc: tuple[int | str, ...],
    root: Node,
    path: str,
    model: type[BaseModel],
) -> ManifestError:
    kind = detail["type"]
    value = detail.get("input")
    name = str(loc[-1]) if loc else "document"
    field = _field_path(loc)
    if kind == "extra_forbidden":
        where_ = where(node_at(root, loc, key=True), path)
        parent = _model_at(model, loc[:-1])
        allowed = _allowed_fields(parent)
        if name in OUTPUT_ONLY:
            hint = f"{name!r} is output-only: the server fills it in; remove it"
        elif suggestion := suggest(name, allowed):
            hint = f"did you mean {suggestion!r}?"
        else:
            hint = "allowed here: " + ", ".join(allowed)
        return ManifestError(*where_, f"unknown field {field!r}", hint)
    where_ = where(node_at(root, loc), path)
    if kind == "missing":
        return ManifestError(
            *where_,
            f"missing required field {field!r}",
            f"add {name!r} to this mapping",
        )
    if kind == "too_long" and name in SINGLETON_FIELDS:
        count = len(value) if isinstance(value, list) else "several"
        return ManifestError(
            *where_,
            f"{field!r} accepts at most one entry, got {count}",
            f"a contact has a single {name} entry; keep one",
        )
    if kind in ("string_type", "str_type"):
        return ManifestError(
            *where_,
            f"{field!r} must be a string, got {describe(value)}",
            _quote_hint(value),
        )
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return ManifestError(
            *where_,
            f"{field!r} must be a whole number, got {describe(value)}",
            "write a number without quotes or decimals",
        )
    if kind == "bool_type":
        return ManifestError(
            *where_,
            f"{field!r} must be true or false, got {describe(value)}",
            "write true or false",
        )
    if kind in ("list_type", "tuple_type"):
        return ManifestError(
            *where_,
            f"{field!r} must be a list, got {describe(value)}",
            "write a YAML list: one '- item' per line, or [item, ...]",
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        shape = "a mapping or a string" if _accepts_bare(model, loc) else "a mapping"
        return ManifestError(
            *where_,
            f"{field!r} must be {shape}, got {describe(value)}",
            _mapping_hint(value),
        )
    if kind == "literal_error":
        expected = detail.get("ctx", {}).get("expected", "")
        return ManifestError(
            *where_,
            f"{field!r} must be one of {expected}, got {_schema_value(value)}",
            _enum_hint(name),
        )
    if kind == "string_pattern_mismatch":
        return ManifestError(
            *where_,
            f"invalid name {value!r} in {field!r}",
            "names use lowercase letters, digits, '-' and '.', and start and end with a letter or "
            f"digit (pattern {NAME_PATTERN})",
        )
    if kind == "string_too_short":
        return ManifestError(*where_, f"{field!r} must not be empty", "give it a value")
    if kind == "email":
        return ManifestError(*where_, detail["msg"], "write it as name@example.com")
    if kind == "phone_number":
        return ManifestError(
            *where_,
            detail["msg"],
            "write it with its country code (+1 650 555 0100) or in the national format of the "
            "default region (--default-region)",
        )
    if kind == "string_too_long":
        return ManifestError(
            *where_,
            f"{field!r} is {len(value) if isinstance(value, str) else 'too many'} characters "
            f"long; Google Contacts keeps at most {detail.get('ctx', {}).get('max_length')} in "
            "one field",
            "shorten it, or spread it over several entries or contacts",
        )
    if kind == "limit":
        return ManifestError(
            *where_,
            f"{field!r} {detail['msg']}",
            "shorten it, or spread it over several entries or contacts",
        )
    if kind == "date":
        return ManifestError(
            *where_, f"{field!r}: {detail['msg']}", "write date: {year: 1990, month: 5, day: 17}"
        )
    if kind == "annotation":
        ctx = detail.get("ctx") or {}
        return ManifestError(
            *where_,
            detail["msg"],
            f"known reconciler annotations: {', '.join(KNOWN_ANNOTATIONS)}"
            if "unknown" in detail["msg"]
            else 'write it as "old-name" or "old-a,old-b"'
            if "earlier metadata.name" in detail["msg"]
            else f"quote the value: {ctx.get('allowed', '')}",
        )
    return ManifestError(*where_, f"{field!r}: {detail['msg']}", "fix the value")


def _schema_value(value: Any) -> str:
    """Values of enumerated fields (kind, contentType...) are vocabulary, not personal data."""
    if isinstance(value, str) and len(value) <= 40:
        return repr(value)
    return describe(value)


def _accepts_bare(model: type[BaseModel], loc: tuple[int | str, ...]) -> bool:
    if len(loc) < 2 or not isinstance(loc[-1], int):
        return False
    entry = _model_at(model, loc[:-1])
    return entry is not None and entry.__name__ in _VALUE_ENTRY_NAMES


def _quote_hint(value: Any) -> str:
    if isinstance(value, bool):
        return "YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value"
    if isinstance(value, int | float | date):
        return "quote the value to make it a string"
    return "write a string"


def _mapping_hint(value: Any) -> str:
    if isinstance(value, date):
        return "write date: {year: 1990, month: 5, day: 17}"
    return "write 'key: value' pairs under it"


def _enum_hint(name: str) -> str:
    if name in ("apiVersion",):
        return "use apiVersion: reconciler/v1"
    if name == "kind":
        return "kind is Contact or ContactGroup"
    return "use one of the listed values"
