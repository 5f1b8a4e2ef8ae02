"""Whatever the input, the loader answers with located errors; it never raises."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifest import load
from tests.support.strategies import contacts

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON-like values with the keys manifests use, so mutations reach deep into validation.
KEYS = st.sampled_from(
    ["apiVersion", "kind", "metadata", "spec", "name", "labels", "annotations", "names",
     "emailAddresses", "phoneNumbers", "value", "type", "date", "year", "month", "day",
     "groups", "birthdays", "organizations", "reconciler/prune", "formattedType", "x"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["reconciler/v1", "Contact", "ContactGroup", "ann@example.com", "+1 650"]),
    st.text(max_size=10),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=25,
)


def check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_bytes(data)
        result = load([path])
    lines = data.count(b"\n") + 2
    for error in result.errors:
        assert 1 <= error.line <= lines, error
        assert error.col >= 1, error
        assert error.message
        assert error.hint


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    """Random bytes: bad UTF-8, control characters, broken YAML."""
    check(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from("ab:-[]{}#&*!|>'\"\n ,?%@`~0.5"), max_size=200))
def test_yaml_punctuation_soup(text: str) -> None:
    """Text made mostly of YAML syntax characters."""
    check(text.encode())


@FUZZ
@given(st.lists(VALUES, min_size=1, max_size=3))
def test_arbitrary_documents(documents: list[Any]) -> None:
    """Well-formed YAML of any shape, using the keys manifests use."""
    check(yaml.safe_dump_all(documents, allow_unicode=True).encode())


@FUZZ
@given(contacts(), st.data())
def test_valid_contacts_with_one_field_replaced(contact: Any, data: st.DataObject) -> None:
    """A valid manifest with one field of its spec replaced by anything."""
    from reconciler.manifest.dumper import contact_document

    document = contact_document(contact)
    spec = document["spec"]
    field = data.draw(st.sampled_from([*sorted(spec), "emailAddresses", "names"]))
    spec[field] = data.draw(VALUES)
    check(yaml.safe_dump(document, allow_unicode=True).encode())
