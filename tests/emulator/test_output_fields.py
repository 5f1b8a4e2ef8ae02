"""Output-only fields are computed the way Google computes them."""

from __future__ import annotations

import pytest

import reconciler.emulator
from reconciler.emulator.contacts import canonical_form, render
from reconciler.emulator.store import Contact


def stored(**fields: object) -> Contact:
    """A contact as the emulator stores it, with ``fields``."""
    return Contact(
        resource_name="people/c1",
        source_id="1",
        fields=dict(fields),
        etag="%Eg1",
        source_etag="#1",
        update_time=0.0,
        created_at=0.0,
        seq=1,
    )


@pytest.mark.parametrize(
    ("name", "display", "last_first"),
    [
        ({"givenName": "Jane", "familyName": "Doe"}, "Jane Doe", "Doe, Jane"),
        ({"givenName": "Jane"}, "Jane", "Jane"),
        ({"familyName": "Doe"}, "Doe", "Doe"),
        (
            {
                "honorificPrefix": "Dr.",
                "givenName": "Jane",
                "middleName": "Q",
                "familyName": "Doe",
                "honorificSuffix": "PhD",
            },
            "Dr. Jane Q Doe, PhD",
            "Doe, Jane Q, PhD",
        ),
        ({"unstructuredName": "Cher"}, "Cher", "Cher"),
    ],
)
def test_display_names(name: dict[str, str], display: str, last_first: str) -> None:
    """displayName reads first-last, displayNameLastFirst last-first."""
    rendered = render(stored(names=[name]), ["names"], "US")["names"][0]
    assert (rendered["displayName"], rendered["displayNameLastFirst"]) == (display, last_first)


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("(650) 555-0100", "US", "+16505550100"),
        ("+44 20 7946 0000", "US", "+442079460000"),
        ("020 7946 0000", "GB", "+442079460000"),
        ("not a number", "US", None),
        ("12", "US", None),
    ],
)
def test_canonical_form_is_e164(value: str, region: str, expected: str | None) -> None:
    """canonicalForm is E.164 when the number parses, absent otherwise."""
    assert canonical_form(value, region) == expected


def test_formatted_types_and_values() -> None:
    """Known types get Google's labels, custom ones are kept; genders and addresses format."""
    rendered = render(
        stored(
            phoneNumbers=[{"value": "1", "type": "workMobile"}, {"value": "2", "type": "Boat"}],
            genders=[{"value": "female"}],
            addresses=[{"streetAddress": "1 Main St", "city": "Springfield", "postalCode": "1"}],
        ),
        ["phoneNumbers", "genders", "addresses"],
        "US",
    )
    assert [p["formattedType"] for p in rendered["phoneNumbers"]] == ["Work Mobile", "Boat"]
    assert [p["metadata"].get("primary") for p in rendered["phoneNumbers"]] == [True, None]
    assert "canonicalForm" not in rendered["phoneNumbers"][0]
    assert rendered["genders"][0]["formattedValue"] == "Female"
    assert rendered["addresses"][0]["formattedValue"] == "1 Main St\nSpringfield 1"


def test_public_names_are_exported() -> None:
    """Everything in reconciler.emulator.__all__ exists."""
    for name in reconciler.emulator.__all__:
        assert hasattr(reconciler.emulator, name), name
