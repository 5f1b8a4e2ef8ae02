"""What every reader hands on: contacts drafted as People API JSON, each part located.

A CSV row or a vCard becomes a :class:`Draft`: the Person fields it holds (the API's own names
and shapes, the same ones a manifest's ``spec`` takes), the contact groups it names by display
name, and for each entry the place it was written (``file:row:column`` for CSV, ``file:line:1``
for vCard). Validation happens once, on drafts, so every format reports its bad values the
same way and at the cell or line they came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.manifest.errors import Location, ManifestError

Person = dict[str, list[dict[str, Any]]]


@dataclass
class Draft:
    """One contact as read from a file, before it is named and validated."""

    at: Location
    """Where the contact starts: its row, or its BEGIN:VCARD line."""
    person: Person = field(default_factory=dict)
    places: dict[tuple[str, int], Location] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    """Display names of the contact groups (Google's labels, Outlook's categories)."""
    name: str | None = None
    """The manifest name, when the file was written by ``reconciler export``."""
    labels: dict[str, str] = field(default_factory=dict)
    """Manifest ``metadata.labels``, when the file was written by ``reconciler export``."""
    annotations: dict[str, str] | None = None
    """Manifest ``metadata.annotations`` when the file carries them (``reconciler export``)."""
    exact: Person = field(default_factory=dict)
    """Fields the format could not hold in full, carried as JSON by ``reconciler export``:
    they replace what the format's own columns or properties said."""

    def carry(self, text: str, where: Location, parsed: Parsed) -> None:
        """Take the exact fields from ``text`` (JSON), or report why it is not usable."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            parsed.error(where, f"not JSON: {exc}", "export again, or delete the value")
            return
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            parsed.error(where, "must map field names to lists", "export again")
            return
        for field_name, entries in data.items():
            self.exact[field_name] = entries
            for index in range(len(entries)):
                self.places[(field_name, index)] = where

    def add(self, field_name: str, entry: dict[str, Any], where: Location) -> None:
        """Append ``entry`` to ``field_name``, remembering where it was written."""
        entries = self.person.setdefault(field_name, [])
        self.places[(field_name, len(entries))] = where
        entries.append(entry)

    def place(self, field_name: str, index: int | None) -> Location:
        """Where entry ``index`` of ``field_name`` was written (the record's start if unknown)."""
        if index is None:
            index = 0
        return self.places.get((field_name, index), self.at)

    def display_name(self) -> str:
        """The name a person would read: given and family name, else the unstructured one."""
        for name in self.person.get("names", ()):
            parts = [name.get(k) for k in ("givenName", "middleName", "familyName")]
            shown = " ".join(str(p) for p in parts if p) or str(name.get("unstructuredName", ""))
            if shown.strip():
                return shown.strip()
        return ""


@dataclass
class Parsed:
    """What reading one file produced: drafts, located errors, and warnings."""

    drafts: list[Draft] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, where: Location, message: str, hint: str = "") -> None:
        self.errors.append(ManifestError.at(where, message, hint))


@dataclass
class Written:
    """A file's text, and a warning for everything the format could not carry."""

    text: str
    warnings: list[str] = field(default_factory=list)


# field -> (entry keys a format's columns or properties hold, how many entries; None: any)
Holds = Mapping[str, tuple[frozenset[str], int | None]]


def holds(table: Holds, field_name: str, entries: list[dict[str, Any]]) -> bool:
    """Whether a format whose capacities are ``table`` can hold ``entries`` in full.

    A birthday given only as text is held wherever a birthday is.
    """
    keys, limit = table.get(field_name, (frozenset(), 0))
    if field_name == "birthdays" and entries and set(entries[0]) == {"text"}:
        keys = frozenset({"text"})
    return (limit is None or len(entries) <= limit) and all(set(e) <= keys for e in entries)


def exact_json(
    fields: Mapping[str, list[dict[str, Any]]], holds: Callable[[str, list[dict[str, Any]]], bool]
) -> str:
    """The fields a format cannot hold in full (``holds`` says which it can), as JSON; or ''."""
    kept = {
        name: entries for name, entries in fields.items() if entries and not holds(name, entries)
    }
    if not kept:
        return ""
    return json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def split_date(text: str) -> dict[str, int] | None:
    """``1990-05-14``, ``--05-14``, ``19900514`` or ``--0514`` as a People API date; else None.

    Time and zone parts (``T1430-0500``, as vCard anniversaries carry) are ignored.
    """
    value = text.strip().split("T", 1)[0]
    year: str | None
    if value.startswith("--"):
        year, rest = None, value[2:]
    elif len(value) >= 8 and value[:4].isdigit():
        year, rest = value[:4], value[4:].lstrip("-")
    else:
        return None
    rest = rest.replace("-", "")
    if len(rest) != 4 or not rest.isdigit() or (year is not None and not year.isdigit()):
        return None
    date = {"month": int(rest[:2]), "day": int(rest[2:])}
    if year is not None:
        date = {"year": int(year), **date}
    return date


def join_date(date: dict[str, Any]) -> str:
    """A People API date as ``1990-05-14``, or ``--05-14`` without a year."""
    month, day = date.get("month"), date.get("day")
    if date.get("year") is None:
        return f"--{month:02d}-{day:02d}"
    return f"{date['year']:04d}-{month:02d}-{day:02d}"
