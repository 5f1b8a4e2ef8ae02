"""Manifests are held to what Google Contacts keeps in one field and one contact, with located
errors, so nothing is sent that the API would cut or refuse."""

from __future__ import annotations

from pathlib import Path

from reconciler.manifest import load
from reconciler.model.limits import (
    MAX_CONTACT_BYTES,
    MAX_FIELD_CHARACTERS,
    MAX_FIELDS_PER_CONTACT,
)

HEAD = "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\nspec:\n"


def errors(tmp_path: Path, spec: str) -> list[tuple[int, int, str]]:
    (tmp_path / "ann.yaml").write_text(HEAD + spec, encoding="utf-8")
    return [(e.line, e.col, e.message) for e in load([tmp_path]).errors]


def test_a_field_longer_than_google_keeps_is_a_located_error(tmp_path: Path) -> None:
    """Every text field is held to the per-field limit, at the line and column of the value;
    a value exactly at the limit is fine."""
    at_limit = "x" * MAX_FIELD_CHARACTERS
    assert errors(tmp_path, f"  biographies: ['{at_limit}']\n") == []
    over = f"  names: [{{givenName: Ann, familyName: '{at_limit}y'}}]\n"
    assert errors(tmp_path, over) == [
        (
            5,
            40,
            f"'spec.names.0.familyName' is {MAX_FIELD_CHARACTERS + 1} characters long; Google "
            f"Contacts keeps at most {MAX_FIELD_CHARACTERS} in one field",
        )
    ]


def test_too_many_fields_in_one_contact_is_a_located_error(tmp_path: Path) -> None:
    """More entries than a contact may hold is an error at the contact's spec."""
    emails = "".join(f"    - p{i}@example.com\n" for i in range(MAX_FIELDS_PER_CONTACT + 1))
    [(line, _, message)] = errors(tmp_path, "  emailAddresses:\n" + emails)
    assert line == 5
    assert message == (
        f"'spec' has {MAX_FIELDS_PER_CONTACT + 1} entries; Google Contacts keeps at most "
        f"{MAX_FIELDS_PER_CONTACT} fields in one contact"
    )


def test_a_contact_larger_than_google_keeps_is_a_located_error(tmp_path: Path) -> None:
    """Fields that each fit but together exceed the per-contact size are refused."""
    value = "x" * MAX_FIELD_CHARACTERS
    count = MAX_CONTACT_BYTES // MAX_FIELD_CHARACTERS + 1
    entries = "".join(f"    - {{key: k{i}, value: '{value}'}}\n" for i in range(count))
    [(_, _, message)] = errors(tmp_path, "  userDefined:\n" + entries)
    assert message.startswith("'spec' is ")
    assert message.endswith(
        f"bytes as API JSON; Google Contacts keeps at most {MAX_CONTACT_BYTES} in one contact"
    )
