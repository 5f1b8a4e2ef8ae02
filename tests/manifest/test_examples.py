"""The example address book in manifests/ is valid, varied, and wired to the schema."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.manifest import load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests"
HEADER = "# yaml-language-server: $schema="


def test_the_examples_load_without_errors() -> None:
    """About twenty contacts in four groups, spread over several folders."""
    result = load([EXAMPLES])
    assert result.ok, [str(e) for e in result.errors]
    assert len(result.contacts) == 20
    assert {g.name for g in result.groups} == {"leadership", "engineering", "sales", "partners"}
    assert result.files >= 5


def test_the_examples_exercise_most_person_fields() -> None:
    """Every writable field the spec supports appears somewhere in the examples."""
    used = set()
    for contact in load([EXAMPLES]).contacts:
        used |= set(contact.spec.person_fields())
    assert used >= {
        "names",
        "nicknames",
        "emailAddresses",
        "phoneNumbers",
        "addresses",
        "organizations",
        "occupations",
        "biographies",
        "birthdays",
        "events",
        "relations",
        "urls",
        "calendarUrls",
        "imClients",
        "sipAddresses",
        "externalIds",
        "userDefined",
        "locations",
        "miscKeywords",
        "interests",
        "locales",
        "genders",
    }


def test_every_example_points_editors_at_the_committed_schema() -> None:
    """Each file starts with a yaml-language-server line whose relative path resolves."""
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(HEADER), path
        target = (path.parent / first.removeprefix(HEADER)).resolve()
        assert target == ROOT / "schema" / "reconciler-v1.json", path
        assert os.path.isfile(target)


def test_examples_use_only_reserved_domains_and_fictional_numbers() -> None:
    """Emails are @example.com/.org and phone numbers are 555 numbers."""
    for contact in load([EXAMPLES]).contacts:
        fields = contact.spec.person_fields()
        for email in fields.get("emailAddresses", []):
            assert email["value"].endswith(("@example.com", "@example.org"))
        for phone in fields.get("phoneNumbers", []):
            digits = "".join(ch for ch in phone["value"] if ch.isdigit())
            assert "5550" in digits, phone
