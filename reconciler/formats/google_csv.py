"""Google Contacts CSV: the file contacts.google.com exports and imports.

One row per contact. Names and the organization have one column each (``First Name``,
``Organization Title``...); repeated things have numbered column groups (``E-mail 1 - Label``,
``E-mail 1 - Value``, ``Phone 2 - Value``...), and one cell may hold several values separated by
`` ::: `` that share the group's label. ``Labels`` lists the contact groups (``* myContacts`` is
the system group every contact is in). Headers are matched exactly: a column nobody knows is an
error at its header cell rather than data silently left behind.

Our own export adds ``Reconciler Name``, ``Reconciler Labels``, ``Reconciler Annotations`` and
``Reconciler Fields`` (the exact JSON of any field these columns cannot hold in full) so that
manifests survive a round trip; any file without them imports just the same.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Sequence
from typing import Any, Final

from reconciler.formats.kinds import label_of, type_of
from reconciler.formats.records import (
    Draft,
    Holds,
    Parsed,
    Written,
    exact_json,
    holds,
    join_date,
    split_date,
)
from reconciler.manifest.errors import Location
from reconciler.manifest.resources import ContactResource, GroupResource

SEPARATOR: Final = " ::: "
SYSTEM_LABELS: Final = frozenset({"myContacts", "starred", "friends", "family", "coworkers"})

NAME_COLUMNS: Final = {
    "Name Prefix": "honorificPrefix",
    "First Name": "givenName",
    "Middle Name": "middleName",
    "Last Name": "familyName",
    "Name Suffix": "honorificSuffix",
    "Phonetic First Name": "phoneticGivenName",
    "Phonetic Middle Name": "phoneticMiddleName",
    "Phonetic Last Name": "phoneticFamilyName",
}
ORGANIZATION_COLUMNS: Final = {
    "Organization Name": "name",
    "Organization Title": "title",
    "Organization Department": "department",
}
META_COLUMNS: Final = {
    "Reconciler Name": "name",
    "Reconciler Labels": "labels",
    "Reconciler Annotations": "annotations",
    "Reconciler Fields": "fields",
}
# Columns Google writes that no manifest field holds: their values are reported, not imported.
UNSUPPORTED: Final = {"File As": "fileAses", "Photo": "photos"}

# Numbered column groups: the field they fill and the sub-column -> entry key.
GROUPS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "E-mail": ("emailAddresses", {"Label": "type", "Value": "value"}),
    "Phone": ("phoneNumbers", {"Label": "type", "Value": "value"}),
    "Address": (
        "addresses",
        {
            "Label": "type",
            "Formatted": "formattedValue",
            "Street": "streetAddress",
            "City": "city",
            "PO Box": "poBox",
            "Region": "region",
            "Postal Code": "postalCode",
            "Country": "country",
            "Extended Address": "extendedAddress",
        },
    ),
    "Website": ("urls", {"Label": "type", "Value": "value"}),
    "Event": ("events", {"Label": "type", "Value": "date"}),
    "Relation": ("relations", {"Label": "type", "Value": "person"}),
    "Custom Field": ("userDefined", {"Label": "key", "Value": "value"}),
    "IM": ("imClients", {"Label": "type", "Service": "protocol", "Value": "username"}),
    "External ID": ("externalIds", {"Label": "type", "Value": "value"}),
}
# Groups whose Value cell may hold several values separated by " ::: ".
MULTI_VALUED: Final = frozenset({"E-mail", "Phone", "Website", "Relation"})
_NUMBERED = re.compile(r"^(?P<group>.+?) (?P<n>\d+) - (?P<sub>.+)$")

FIXED_HEADER: Final = (
    *NAME_COLUMNS,
    "Nickname",
    "File As",
    *ORGANIZATION_COLUMNS,
    "Birthday",
    "Notes",
    "Photo",
    "Labels",
)


def looks_like(header: Sequence[str]) -> bool:
    """Whether a CSV header is Google's (numbered ``E-mail 1 - Value`` style, or its names)."""
    names = set(header)
    return bool(names & {"First Name", "Labels"}) and not names & {"E-mail Address", "Categories"}


def read(text: str, path: str) -> Parsed:
    """Drafts from a Google Contacts CSV text; ``path`` is only used to locate errors."""
    parsed = Parsed()
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        parsed.error(Location(path, 1, 1), "empty file", "export the contacts again")
        return parsed
    except csv.Error as exc:
        parsed.error(Location(path, 1, 1), f"not a CSV file: {exc}", "check the file")
        return parsed
    slots = _slots(header, path, parsed)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.error(Location(path, start, 1), f"unreadable row: {exc}", "fix the quoting")
            break
        if any(cell.strip() for cell in row):
            if any(cell.strip() for cell in row[len(header) :]):
                parsed.error(
                    Location(path, start, len(header) + 1),
                    f"row has {len(row)} cells but the header has {len(header)} columns",
                    "quote cells that contain commas",
                )
            else:
                _row(row, slots, Location(path, start, 1), parsed)
        start = reader.line_num + 1
    return parsed


def _slots(header: list[str], path: str, parsed: Parsed) -> list[tuple[str, ...]]:
    """What each column holds, by header; unknown headers are located errors."""
    known = [*FIXED_HEADER, *META_COLUMNS]
    slots: list[tuple[str, ...]] = []
    for index, title in enumerate(header):
        title = title.strip()
        numbered = _NUMBERED.match(title)
        if title in NAME_COLUMNS:
            slots.append(("name", NAME_COLUMNS[title]))
        elif title in ORGANIZATION_COLUMNS:
            slots.append(("organization", ORGANIZATION_COLUMNS[title]))
        elif title in META_COLUMNS:
            slots.append(("meta", META_COLUMNS[title]))
        elif title in UNSUPPORTED:
            slots.append(("unsupported", title))
        elif title in ("Nickname", "Birthday", "Notes", "Labels"):
            slots.append((title.lower(),))
        elif (
            numbered is not None
            and numbered["group"] in GROUPS
            and numbered["sub"] in GROUPS[numbered["group"]][1]
        ):
            slots.append(("numbered", numbered["group"], numbered["n"], numbered["sub"]))
        elif not title:
            slots.append(("blank",))
        else:
            close = difflib.get_close_matches(title, known + _numbered_examples(), n=1)
            parsed.error(
                Location(path, 1, index + 1),
                f"unknown column {title!r}",
                f"did you mean {close[0]!r}?"
                if close
                else "remove the column or rename it "
                "to one of Google Contacts' own (export a contact from Google to see them)",
            )
            slots.append(("blank",))
    return slots


def _numbered_examples() -> list[str]:
    return [f"{group} 1 - {sub}" for group, (_, subs) in GROUPS.items() for sub in subs]


def _row(row: list[str], slots: list[tuple[str, ...]], at: Location, parsed: Parsed) -> None:
    draft = Draft(at)
    name: dict[str, Any] = {}
    organization: dict[str, Any] = {}
    numbered: dict[tuple[str, int], dict[str, tuple[str, Location]]] = {}
    name_at: Location | None = None
    for index, cell in enumerate(row):
        value = cell.strip()
        if not value:
            continue
        slot = slots[index]
        where = Location(at.path, at.line, index + 1)
        kind = slot[0]
        if kind == "name":
            name[slot[1]] = value
            name_at = name_at or where
        elif kind == "organization":
            organization[slot[1]] = value
            draft.places.setdefault(("organizations", 0), where)
        elif kind == "nickname":
            for part in _split(value):
                draft.add("nicknames", {"value": part}, where)
        elif kind == "birthday":
            date = split_date(value)
            draft.add("birthdays", {"date": date} if date else {"text": value}, where)
        elif kind == "notes":
            draft.add("biographies", {"value": cell.strip("\r\n")}, where)
        elif kind == "labels":
            for label in _split(value):
                label = label.removeprefix("*").strip()
                if label and label not in SYSTEM_LABELS and label not in draft.groups:
                    draft.groups.append(label)
        elif kind == "meta":
            _meta(draft, slot[1], value, where, parsed)
        elif kind == "unsupported":
            parsed.warnings.append(
                f"{where}: left out {slot[1]}: manifests have no field for it "
                f"({UNSUPPORTED[slot[1]]} is not imported)"
            )
        elif kind == "numbered":
            numbered.setdefault((slot[1], int(slot[2])), {})[slot[3]] = (value, where)
    if name:
        draft.person["names"] = [name]
        draft.places[("names", 0)] = name_at or at
    if organization:
        draft.person["organizations"] = [organization]
    for (group, _), cells in sorted(numbered.items(), key=lambda item: (item[0][0], item[0][1])):
        _numbered(draft, group, cells)
    parsed.drafts.append(draft)


def _numbered(draft: Draft, group: str, cells: dict[str, tuple[str, Location]]) -> None:
    field_name, keys = GROUPS[group]
    entry: dict[str, Any] = {}
    where = next(iter(cells.values()))[1]
    for sub, (value, at) in cells.items():
        key = keys[sub]
        if key == "type" and field_name != "userDefined":
            kind = type_of(value)
            if kind:
                entry["type"] = kind
        else:
            entry[key] = value
        if sub != "Label":
            where = at
    if field_name == "addresses" and len(entry.keys() - {"type", "formattedValue"}) > 0:
        entry.pop("formattedValue", None)  # Google derives it from the parts
    if field_name == "events":
        date = split_date(str(entry.get("date", "")))
        entry["date"] = date if date is not None else entry.get("date")
    value_key = keys.get("Value")
    values = _split(str(entry.get(value_key, ""))) if group in MULTI_VALUED and value_key else []
    if len(values) > 1 and value_key:
        for value in values:
            draft.add(field_name, {**entry, value_key: value}, where)
    elif entry.keys() - {"type"}:
        draft.add(field_name, entry, where)


def _meta(draft: Draft, what: str, value: str, where: Location, parsed: Parsed) -> None:
    if what == "name":
        draft.name = value
        return
    if what == "fields":
        draft.carry(value, where, parsed)
        return
    pairs: dict[str, str] = {}
    for item in _split(value):
        key, equals, item_value = item.partition("=")
        if not equals or not key.strip():
            parsed.error(where, f"{item!r} is not KEY=VALUE", "write pairs as key=value ::: k=v")
            continue
        pairs[key.strip()] = item_value.strip()
    if what == "labels":
        draft.labels = pairs
    else:
        draft.annotations = pairs


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(":::") if part.strip()]


# -- writing -------------------------------------------------------------------------------------


def write(contacts: Sequence[ContactResource], groups: Sequence[GroupResource]) -> Written:
    """Contacts as a Google Contacts CSV text, and a warning for each value it cannot hold."""
    titles = {group.name: group.spec.name for group in groups}
    rows: list[dict[str, str]] = []
    counts: dict[str, int] = {}
    warnings: list[str] = []
    for contact in contacts:
        row, row_counts = _contact_row(contact, titles, warnings)
        rows.append(row)
        for group, count in row_counts.items():
            counts[group] = max(counts.get(group, 0), count)
    header = list(FIXED_HEADER)
    for group, (_, subs) in GROUPS.items():
        for n in range(1, counts.get(group, 0) + 1):
            header += [f"{group} {n} - {sub}" for sub in subs]
    header += list(META_COLUMNS)
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\r\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return Written(out.getvalue(), warnings)


_FIELD_GROUP = {field_name: group for group, (field_name, _) in GROUPS.items()}
_HOLDS: Final[Holds] = {
    "names": (frozenset(NAME_COLUMNS.values()), 1),
    "nicknames": (frozenset({"value"}), None),
    "organizations": (frozenset(ORGANIZATION_COLUMNS.values()), 1),
    "birthdays": (frozenset({"date"}), 1),
    "biographies": (frozenset({"value"}), 1),
    **{field_name: (frozenset(keys.values()), None) for field_name, keys in GROUPS.values()},
}


def _holds(field_name: str, entries: list[dict[str, Any]]) -> bool:
    if field_name == "addresses" and any(
        "formattedValue" in e and len(e.keys() - {"type", "formattedValue"}) for e in entries
    ):
        return False  # the import derives Formatted from the parts
    if field_name in ("emailAddresses", "phoneNumbers", "urls", "relations") and any(
        SEPARATOR.strip() in str(e.get("value", e.get("person", ""))) for e in entries
    ):
        return False
    return holds(_HOLDS, field_name, entries)


def _contact_row(
    contact: ContactResource, titles: dict[str, str], warnings: list[str]
) -> tuple[dict[str, str], dict[str, int]]:
    fields = contact.spec.person_fields()
    row: dict[str, str] = {}
    counts: dict[str, int] = {}
    exact = exact_json(fields, _holds)
    if exact:
        row["Reconciler Fields"] = exact
        left = sorted(name for name in fields if fields[name] and not _holds(name, fields[name]))
        warnings.append(
            f"{contact.name}: {', '.join(left)} only in the Reconciler Fields column, "
            "which Google Contacts does not read"
        )
    for name in fields.get("names", [])[:1]:
        for column, key in NAME_COLUMNS.items():
            if name.get(key):
                row[column] = str(name[key])
    if fields.get("nicknames"):
        row["Nickname"] = SEPARATOR.join(str(n["value"]) for n in fields["nicknames"])
    for organization in fields.get("organizations", [])[:1]:
        for column, key in ORGANIZATION_COLUMNS.items():
            if organization.get(key):
                row[column] = str(organization[key])
    for birthday in fields.get("birthdays", [])[:1]:
        row["Birthday"] = join_date(birthday["date"]) if "date" in birthday else birthday["text"]
    for biography in fields.get("biographies", [])[:1]:
        row["Notes"] = str(biography["value"])
    labels = ["* myContacts", *(titles.get(g, g) for g in contact.spec.groups)]
    row["Labels"] = SEPARATOR.join(labels)
    for field_name, group in _FIELD_GROUP.items():
        _, subs = GROUPS[group]
        entries = fields.get(field_name, [])
        counts[group] = len(entries)
        for n, entry in enumerate(entries, start=1):
            for sub, key in subs.items():
                value = entry.get(key)
                if key == "type" and field_name != "userDefined":
                    value = label_of(value)
                elif key == "date" and isinstance(value, dict):
                    value = join_date(value)
                if value:
                    row[f"{group} {n} - {sub}"] = str(value)
    if contact.name:
        row["Reconciler Name"] = contact.name
    if contact.labels:
        row["Reconciler Labels"] = SEPARATOR.join(f"{k}={v}" for k, v in contact.labels.items())
    if contact.annotations:
        row["Reconciler Annotations"] = SEPARATOR.join(
            f"{k}={v}" for k, v in contact.annotations.items()
        )
    return row, counts
