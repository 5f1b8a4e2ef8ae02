"""Outlook CSV: the contacts file Outlook exports (and contacts.google.com's "Outlook CSV").

One row per contact with a fixed set of columns, each meaning one thing (``Mobile Phone``,
``Business Street``, ``E-mail 2 Address``). Categories are the contact groups. Outlook writes
dates as ``M/D/YYYY`` and an unset date as ``0/0/00``. Outlook has dozens of columns that no
People API field holds (``Hobby``, ``Mileage``...): a value in one is reported, not imported.
Import only: exporting goes to Google's own CSV or to vCard.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Final

from reconciler.formats.records import Draft, Parsed, split_date
from reconciler.manifest.errors import Location

NAME: Final = {
    "Title": "honorificPrefix",
    "First Name": "givenName",
    "Middle Name": "middleName",
    "Last Name": "familyName",
    "Suffix": "honorificSuffix",
    "Given Yomi": "phoneticGivenName",
    "Surname Yomi": "phoneticFamilyName",
}
EMAILS: Final = ("E-mail Address", "E-mail 2 Address", "E-mail 3 Address")
PHONES: Final = {
    "Primary Phone": "main",
    "Home Phone": "home",
    "Home Phone 2": "home",
    "Business Phone": "work",
    "Business Phone 2": "work",
    "Mobile Phone": "mobile",
    "Other Phone": "other",
    "Pager": "pager",
    "Business Fax": "workFax",
    "Home Fax": "homeFax",
    "Other Fax": "otherFax",
    "Car Phone": "car",
    "Company Main Phone": "companyMain",
    "Assistant's Phone": "assistant",
    "Callback": "callback",
    "Radio Phone": "radio",
    "ISDN": "isdn",
    "Telex": "telex",
    "TTY/TDD Phone": "ttyTdd",
}
ORGANIZATION: Final = {
    "Company": "name",
    "Job Title": "title",
    "Department": "department",
    "Office Location": "location",
}
ADDRESS_PARTS: Final = {
    "Street": "streetAddress",
    "Street 2": "extendedAddress",
    "City": "city",
    "State": "region",
    "Postal Code": "postalCode",
    "Country/Region": "country",
    "Country": "country",
    "PO Box": "poBox",
}
ADDRESS_KINDS: Final = {"Business": "work", "Home": "home", "Other": "other"}
URLS: Final = {"Web Page": "work", "Personal Web Page": "home"}
RELATIONS: Final = {
    "Spouse": "spouse",
    "Manager's Name": "manager",
    "Assistant's Name": "assistant",
}
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")


def looks_like(header: list[str]) -> bool:
    return "E-mail Address" in header or "Categories" in header or "Business Phone" in header


def read(text: str, path: str) -> Parsed:
    """Drafts from an Outlook CSV text."""
    parsed = Parsed()
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [title.strip() for title in next(reader)]
    except (StopIteration, csv.Error):
        parsed.error(Location(path, 1, 1), "empty or unreadable file", "export the contacts again")
        return parsed
    start = reader.line_num + 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                _row(dict(zip(header, row, strict=False)), header, Location(path, start, 1), parsed)
            start = reader.line_num + 1
    except csv.Error as exc:
        parsed.error(Location(path, start, 1), f"unreadable row: {exc}", "fix the quoting")
    return parsed


def _date(value: str) -> dict[str, int] | str | None:
    """A People API date, None for Outlook's "no date", or the text when it is not a date."""
    if value in ("0/0/00", "0/0/0000"):
        return None
    us = _US_DATE.match(value)
    if us:
        month, day, year = (int(part) for part in us.groups())
        if len(us.group(3)) == 2:
            year += 1900 if year > 30 else 2000
        return {"year": year, "month": month, "day": day}
    return split_date(value) or value


def _row(cells: dict[str, str], header: list[str], at: Location, parsed: Parsed) -> None:
    draft = Draft(at)

    def where(column: str) -> Location:
        return Location(at.path, at.line, header.index(column) + 1)

    used: set[str] = set()

    def take(column: str) -> str:
        used.add(column)
        return cells.get(column, "").strip()

    name = {key: take(column) for column, key in NAME.items() if take(column)}
    if name:
        draft.add("names", name, where(next(c for c in NAME if cells.get(c, "").strip())))
    if take("Nickname"):
        draft.add("nicknames", {"value": take("Nickname")}, where("Nickname"))
    for column in EMAILS:
        if take(column):
            draft.add("emailAddresses", {"value": take(column)}, where(column))
    for column, kind in PHONES.items():
        if take(column):
            draft.add("phoneNumbers", {"value": take(column), "type": kind}, where(column))
    organization = {key: take(column) for column, key in ORGANIZATION.items() if take(column)}
    if organization:
        first = next(c for c in ORGANIZATION if cells.get(c, "").strip())
        draft.add("organizations", organization, where(first))
    for prefix, kind in ADDRESS_KINDS.items():
        parts: dict[str, Any] = {}
        for suffix, key in ADDRESS_PARTS.items():
            value = take(f"{prefix} {suffix}")
            if value:
                parts[key] = value
        if parts:
            first = next(c for c in header if c.startswith(prefix + " ") and cells.get(c, ""))
            draft.add("addresses", {**parts, "type": kind}, where(first))
    for column, kind in URLS.items():
        if take(column):
            draft.add("urls", {"value": take(column), "type": kind}, where(column))
    for column, kind in RELATIONS.items():
        if take(column):
            draft.add("relations", {"person": take(column), "type": kind}, where(column))
    for column in ("Birthday", "Anniversary"):
        value = take(column)
        date = _date(value) if value else None
        if date is None:
            continue
        entry = {"date": date} if isinstance(date, dict) else {"text": date}
        if column == "Birthday":
            draft.add("birthdays", entry, where(column))
        else:
            draft.add(
                "events", {"date": entry.get("date", date), "type": "anniversary"}, where(column)
            )
    if take("Notes"):
        draft.add("biographies", {"value": cells["Notes"].strip("\r\n")}, where("Notes"))
    if take("Gender") and take("Gender").lower() != "unspecified":
        draft.add("genders", {"value": take("Gender").lower()}, where("Gender"))
    for group in re.split(r";|:::", take("Categories")):
        group = group.removeprefix("*").strip()
        if group and group != "myContacts" and group not in draft.groups:
            draft.groups.append(group)
    for column in header:
        if column not in used and cells.get(column, "").strip():
            parsed.warnings.append(
                f"{where(column)}: left out {column}: no manifest field holds it"
            )
    parsed.drafts.append(draft)
