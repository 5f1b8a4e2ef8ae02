"""Address-book files become the manifests a person would have written, or located errors.

Pure tests of ``reconciler.formats``: text in, resources out, no files written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.formats import Imported, detect, read, to_manifests, write
from reconciler.formats.records import split_date
from reconciler.manifest import ContactResource

DATA = Path(__file__).parent / "data"


def imported(*names: str, region: str = "US") -> Imported:
    parsed = [read((DATA / name).read_text(encoding="utf-8"), name) for name in names]
    return to_manifests(parsed, default_region=region)


def by_name(result: Imported) -> dict[str, ContactResource]:
    return {contact.name: contact for contact in result.contacts}


def test_the_format_is_recognised_from_the_content() -> None:
    """Google's numbered headers, Outlook's fixed ones and BEGIN:VCARD each say what they are."""
    assert detect((DATA / "google-tricky.csv").read_text()) == "google-csv"
    assert detect((DATA / "outlook.csv").read_text()) == "outlook-csv"
    assert detect((DATA / "rfc6350-example.vcf").read_text()) == "vcard"
    assert detect("name,phone\nx,1\n") is None


def test_google_csv_tricky_rows() -> None:
    """Several values in a cell, labels with spaces, email-only rows, non-Latin names, phones."""
    result = imported("google-tricky.csv")
    assert result.ok, [str(e) for e in result.errors]
    contacts = by_name(result)
    assert sorted(contacts) == ["contact-04fb9cfc", "maria-jose-garcia", "only-email", "taro"]
    maria = contacts["maria-jose-garcia"].spec.person_fields()
    # " ::: " splits a cell into entries that share the column group's label
    assert maria["emailAddresses"] == [
        {"value": "maria@example.com", "type": "work"},
        {"value": "maria.garcia@example.org", "type": "work"},
        {"value": "maria@home.example", "type": "home"},
    ]
    assert maria["phoneNumbers"] == [
        {"value": "+1 650-555-0100", "type": "mobile"},
        {"value": "(650) 555-0101", "type": "mobile"},
        {"value": "+44 20 7946 0000", "type": "workFax"},
    ]
    assert maria["biographies"] == [{"value": "Met at the fair,\nsecond line"}]
    assert maria["birthdays"] == [{"date": {"year": 1980, "month": 2, "day": 29}}]
    assert maria["addresses"][0]["city"] == "Mountain View"
    assert "formattedValue" not in maria["addresses"][0]  # derived from the parts
    # a label with spaces is one group, whatever its case; system labels are not groups
    groups = {group.name: group.spec.name for group in result.groups}
    assert groups == {"sales-team": "Sales Team", "vip": "VIP", "group-72da4516": "営業 チーム"}
    assert contacts["contact-04fb9cfc"].spec.groups == ["sales-team"]
    # no name at all: named after the email, and marked for adoption by email
    only = contacts["only-email"]
    assert only.spec.person_fields() == {
        "emailAddresses": [{"value": "only.email@example.net", "type": "other"}]
    }
    assert only.annotations == {"reconciler/adopt": "email"}
    # a Japanese name with an email is named after the email; phonetic names are kept
    taro = contacts["taro"].spec.person_fields()
    assert taro["names"] == [
        {
            "givenName": "太郎",
            "familyName": "山田",
            "phoneticGivenName": "たろう",
            "phoneticFamilyName": "やまだ",
        }
    ]
    assert taro["birthdays"] == [{"date": {"month": 4, "day": 1}}]


def test_a_name_in_a_script_without_ascii_letters_gets_a_stable_digest_name() -> None:
    """Importing the same file twice gives the same names."""
    assert sorted(by_name(imported("google-tricky.csv"))) == sorted(
        by_name(imported("google-tricky.csv"))
    )


def test_bad_rows_are_located_at_file_row_column() -> None:
    """Each bad cell is an error at its row and column, and every one is reported."""
    result = imported("google-bad.csv")
    assert [(e.path, e.line, e.col, e.message.split(":")[0]) for e in result.errors] == [
        ("google-bad.csv", 3, 5, "emailAddresses.0.value"),
        ("google-bad.csv", 4, 7, "phoneNumbers.0.value"),
        ("google-bad.csv", 5, 8, "birthdays.0.date"),
    ]
    assert "impossible date" in str(result.errors[2])
    assert result.errors[1].hint.startswith("write the number")


def test_an_unknown_column_is_an_error_at_its_header_cell() -> None:
    """A misspelt column never drops data silently."""
    parsed = read("First Name,E-mail 1 - Valeu\nAda,ada@example.com\n", "typo.csv", "google-csv")
    assert [(e.line, e.col) for e in parsed.errors] == [(1, 2)]
    assert "E-mail 1 - Value" in parsed.errors[0].hint


def test_a_phone_without_country_code_reads_in_the_default_region() -> None:
    """A national number is an error in the wrong region and fine in the right one."""
    text = "First Name,Phone 1 - Label,Phone 1 - Value\nTaro,Mobile,090-1234-5678\n"
    assert not to_manifests([read(text, "jp.csv")]).ok
    assert to_manifests([read(text, "jp.csv")], default_region="JP").ok


def test_outlook_csv() -> None:
    """Outlook's fixed columns, M/D/YYYY dates, categories as groups, unmapped columns reported."""
    result = imported("outlook.csv")
    assert result.ok, [str(e) for e in result.errors]
    contacts = by_name(result)
    assert sorted(contacts) == ["globex", "grace-brewster-hopper"]
    grace = contacts["grace-brewster-hopper"]
    fields = grace.spec.person_fields()
    assert fields["names"] == [
        {
            "givenName": "Grace",
            "middleName": "Brewster",
            "familyName": "Hopper",
            "honorificPrefix": "Rear Admiral",
        }
    ]
    assert fields["birthdays"] == [{"date": {"year": 1906, "month": 12, "day": 9}}]
    assert [p["type"] for p in fields["phoneNumbers"]] == ["work", "mobile"]
    assert fields["addresses"][0]["type"] == "work"
    assert grace.spec.groups == ["navy", "pioneers"]
    assert any("Hobby" in w for w in result.warnings)


def test_vcard_examples_of_rfc_2426() -> None:
    """Both cards of RFC 2426 section 8: FN as the name, typed phones, the postal address."""
    contacts = by_name(imported("rfc2426-examples.vcf"))
    assert sorted(contacts) == ["frank-dawson", "tim-howes"]
    frank = contacts["frank-dawson"].spec.person_fields()
    assert frank["names"] == [{"unstructuredName": "Frank Dawson"}]
    assert frank["phoneNumbers"] == [
        {"value": "+1-919-676-9515", "type": "work"},
        {"value": "+1-919-676-9564", "type": "workFax"},
    ]
    assert frank["addresses"] == [
        {
            "type": "work",
            "streetAddress": "6544 Battleford Drive",
            "city": "Raleigh",
            "region": "NC",
            "postalCode": "27613-3502",
            "country": "U.S.A.",
        }
    ]
    assert frank["organizations"] == [{"name": "Lotus Development Corporation"}]


def test_vcard_example_of_rfc_6350() -> None:
    """vCard 4.0: tel: URIs with extensions, BDAY without a year, ANNIVERSARY, GENDER, LANG."""
    result = imported("rfc6350-example.vcf")
    simon = by_name(result)["simon-perreault"].spec.person_fields()
    assert simon["names"] == [
        {"givenName": "Simon", "familyName": "Perreault", "honorificSuffix": "ing. jr, M.Sc."}
    ]
    assert simon["phoneNumbers"] == [
        {"value": "+1-418-656-9254 ext. 102", "type": "work"},
        {"value": "+1-418-262-6501", "type": "workMobile"},
    ]
    assert simon["birthdays"] == [{"date": {"month": 2, "day": 3}}]
    assert simon["events"] == [
        {"date": {"year": 2009, "month": 8, "day": 8}, "type": "anniversary"}
    ]
    assert simon["genders"] == [{"value": "male"}]
    assert simon["locales"] == [{"value": "fr"}, {"value": "en"}]
    assert simon["organizations"] == [{"name": "Viagenie", "type": "work"}]
    # what no manifest field holds is reported at its line, never silently dropped
    assert [w.split(": ")[0] for w in result.warnings] == [
        "rfc6350-example.vcf:16:1",
        "rfc6350-example.vcf:17:1",
        "rfc6350-example.vcf:19:1",
    ]


def test_a_bad_vcard_value_is_located_at_its_line() -> None:
    """A bad email on line 4 of a card is reported at line 4."""
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEMAIL:nope\r\nEND:VCARD\r\n"
    result = to_manifests([read(text, "bad.vcf")])
    assert [(e.path, e.line) for e in result.errors] == [("bad.vcf", 4)]


@pytest.mark.parametrize("fmt", ["google-csv", "vcard"])
@pytest.mark.parametrize(
    "source", ["google-tricky.csv", "outlook.csv", "rfc2426-examples.vcf", "rfc6350-example.vcf"]
)
def test_an_import_of_an_export_is_the_same_manifests(fmt: str, source: str) -> None:
    """Writing resources and reading them back gives equal resources, labels and all."""
    first = imported(source)
    text = write(fmt, first.contacts, first.groups).text
    again = to_manifests([read(text, "exported")])
    assert again.ok, [str(e) for e in again.errors]
    assert sorted(again.contacts, key=lambda c: c.name) == sorted(
        first.contacts,
        key=lambda c: c.name,
    )
    assert sorted(again.groups, key=lambda g: g.name) == sorted(
        first.groups,
        key=lambda g: g.name,
    )


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("1990-05-14", {"year": 1990, "month": 5, "day": 14}),
        ("--05-14", {"month": 5, "day": 14}),
        ("--0514", {"month": 5, "day": 14}),
        ("19900514", {"year": 1990, "month": 5, "day": 14}),
        ("20090808T1430-0500", {"year": 2009, "month": 8, "day": 8}),
        ("May 14", None),
    ],
)
def test_dates(text: str, date: dict[str, int] | None) -> None:
    """ISO dates with or without year or dashes; anything else is not a date."""
    assert split_date(text) == date


def test_a_broken_vcard_line_is_located() -> None:
    """A line that is no property is reported at its own line (vobject counts lines twice)."""
    text = "BEGIN:VCARD\nVERSION:3.0\nFN:A\nEMAIL:a@example.com\nBROKEN LINE\nEND:VCARD\n"
    parsed = read(text, "x.vcf")
    assert [(e.line, e.message) for e in parsed.errors] == [
        (5, "not a valid vCard: Failed to parse line: BROKEN LINE")
    ]


def test_empty_trailing_cells_are_fine_but_extra_values_are_not() -> None:
    """Spreadsheets pad rows with empty cells; a value past the header is a quoting mistake."""
    text = "First Name,Last Name\nAda,Lovelace,,\nBob,X,extra\n"
    assert [(e.line, e.col) for e in read(text, "y.csv", "google-csv").errors] == [(3, 3)]
