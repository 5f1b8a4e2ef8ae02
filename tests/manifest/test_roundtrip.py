"""Anything the dumper writes, the loader reads back unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifest import ContactResource, ContactSpec, load
from reconciler.manifest.dumper import dump_contacts, dump_resources
from tests.support.strategies import contacts, groups_for


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(contacts(), min_size=1, max_size=4, unique_by=lambda c: c.name))
def test_dumped_contacts_load_back_unchanged(contact_list: list[ContactResource]) -> None:
    """Specs, labels and annotations survive dump -> load, and so do the declared fields."""
    groups = groups_for(contact_list)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "all.yaml"
        path.write_text(dump_resources([*groups, *contact_list]), encoding="utf-8")
        result = load([path])
    assert result.ok, [str(e) for e in result.errors]
    assert [c.name for c in result.contacts] == [c.name for c in contact_list]
    for loaded, original in zip(result.contacts, contact_list, strict=True):
        assert loaded.spec == original.spec
        assert loaded.spec.person_fields() == original.spec.person_fields()
        assert loaded.labels == original.labels
        assert loaded.annotations == original.annotations
    assert [g.spec for g in result.groups] == [g.spec for g in groups]


def test_value_only_entries_are_dumped_as_bare_strings() -> None:
    """The dumper writes what a person would: bare strings, no nulls, tricky strings quoted."""
    spec = ContactSpec.model_validate(
        {
            "names": [{"givenName": "Ann"}],
            "nicknames": ["NO"],
            "emailAddresses": ["ann@example.com", {"value": "a@example.org", "type": "work"}],
            "urls": [],
        }
    )
    text = dump_contacts([ContactResource(name="ann", spec=spec)], schema="../schema.json")
    assert text == (
        "# yaml-language-server: $schema=../schema.json\n"
        "apiVersion: reconciler/v1\n"
        "kind: Contact\n"
        "metadata:\n"
        "  name: ann\n"
        "spec:\n"
        "  names:\n"
        "  - givenName: Ann\n"
        "  nicknames:\n"
        "  - 'NO'\n"
        "  emailAddresses:\n"
        "  - ann@example.com\n"
        "  - value: a@example.org\n"
        "    type: work\n"
        "  urls: []\n"
    )
