"""Comparison ignores server formatting and typing habits, and nothing else."""

from __future__ import annotations

import unicodedata

import pytest

from reconciler.model import Normalizer, Stamp, foreign_entries, read_stamp

N = Normalizer("US")


@pytest.mark.parametrize(
    "typed",
    [
        "(650) 555-0100",
        "650-555-0100",
        "650.555.0100",
        "+1 650 555 0100",
        "+16505550100",
        "1 (650) 555 0100",
    ],
)
def test_phone_numbers_in_national_formats_equal_their_e164_form(typed: str) -> None:
    """Any way of typing a US number equals the E.164 form under region US."""
    assert N.equal("phoneNumbers", [{"value": "+16505550100"}], [{"value": typed}])


def test_default_region_decides_numbers_without_country_code() -> None:
    """The default region is configurable: a UK national number matches under region GB."""
    uk = Normalizer("GB")
    assert uk.equal("phoneNumbers", [{"value": "020 7946 0958"}], [{"value": "+44 20 7946 0958"}])
    assert not N.equal(
        "phoneNumbers", [{"value": "020 7946 0958"}], [{"value": "+44 20 7946 0958"}]
    )


def test_different_numbers_differ() -> None:
    """Numbers that differ in a digit are different."""
    assert not N.equal("phoneNumbers", [{"value": "(650) 555-0100"}], [{"value": "(650) 555-0101"}])


def test_unparseable_numbers_compare_by_digits() -> None:
    """A number phonenumbers cannot parse is compared by its digits."""
    assert N.equal("phoneNumbers", [{"value": "ext. 12-34"}], [{"value": "ext 1234"}])


def test_emails_compare_case_insensitively_but_other_strings_do_not() -> None:
    """Only emails (and types) ignore case; names keep it."""
    assert N.equal(
        "emailAddresses", [{"value": "Jane@Example.COM"}], [{"value": "jane@example.com"}]
    )
    assert not N.equal("names", [{"givenName": "Jane"}], [{"givenName": "jane"}])


def test_unicode_is_compared_in_nfc() -> None:
    """A name typed with combining accents equals the precomposed one."""
    nfd = unicodedata.normalize("NFD", "José Müller")
    assert nfd != "José Müller"
    assert N.equal("names", [{"givenName": "José Müller"}], [{"givenName": nfd}])


def test_server_added_parts_are_ignored() -> None:
    """metadata, formattedType, canonicalForm, displayName and primary flags are server noise."""
    live = [
        {
            "value": "(650) 555-0100",
            "type": "mobile",
            "formattedType": "Mobile",
            "canonicalForm": "+16505550100",
            "metadata": {"primary": True, "source": {"type": "CONTACT", "id": "1"}},
        }
    ]
    assert N.equal("phoneNumbers", [{"value": "(650) 555-0100", "type": "mobile"}], live)
    names = [
        {
            "givenName": "Ada",
            "displayName": "Ada",
            "displayNameLastFirst": "Ada",
            "unstructuredName": "Ada",
        }
    ]
    assert N.equal("names", [{"givenName": "Ada"}], names)


def test_derived_subfield_is_compared_when_declared() -> None:
    """unstructuredName is ignored unless the manifest sets it; then it counts."""
    live = [{"givenName": "Ada", "unstructuredName": "Ada"}]
    assert not N.equal("names", [{"givenName": "Ada", "unstructuredName": "Ada L"}], live)


def test_list_order_is_ignored() -> None:
    """Entries in another order are the same value."""
    desired = [{"value": "a@x.org"}, {"value": "b@x.org"}]
    assert N.equal("emailAddresses", desired, list(reversed(desired)))


def test_empty_subfields_are_dropped_and_counts_matter() -> None:
    """Empty sub-fields are noise; a duplicated entry is not."""
    assert N.equal("urls", [{"value": "https://x.org", "type": ""}], [{"value": "https://x.org"}])
    assert not N.equal("urls", [{"value": "https://x.org"}], [{"value": "https://x.org"}] * 2)
    assert N.equal("urls", [], None)


def test_nested_dates_compare_whole() -> None:
    """Dates compare by their parts, whatever the key order."""
    assert N.equal(
        "birthdays", [{"date": {"month": 2, "day": 3}}], [{"date": {"day": 3, "month": 2}}]
    )
    assert not N.equal(
        "birthdays", [{"date": {"month": 2, "day": 3}}], [{"date": {"month": 2, "day": 4}}]
    )


def test_stamp_round_trips_through_client_data() -> None:
    """A stamp written to clientData reads back equal; others' entries are told apart."""
    stamp = Stamp("repo-x", "jane", frozenset({"names", "emailAddresses"}), prunable=False)
    entries = [{"key": "other.app", "value": "1"}, *stamp.entries()]
    assert read_stamp(entries) == stamp
    assert foreign_entries(entries) == [{"key": "other.app", "value": "1"}]
    assert read_stamp([{"key": "other.app", "value": "1"}]) is None
    assert read_stamp(None) is None
