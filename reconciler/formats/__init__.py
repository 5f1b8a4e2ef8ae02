"""Address-book files (Google Contacts CSV, Outlook CSV, vCard) to manifests and back.

Beside ``manifest`` in the layers and as pure: text in, resources out (and resources in, text
out). Reading and writing files is the CLI's business. ``read(text, path)`` recognises the
format; ``to_manifests`` names, groups and validates what was read; ``write`` renders resources
in a format; ``lay_out`` splits manifests into files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from reconciler.formats import google_csv, outlook_csv, vcard, vcard_write
from reconciler.formats.layout import LAYOUTS, SCHEMA_FILE, Layout, lay_out
from reconciler.formats.manifests import Imported, to_manifests
from reconciler.formats.records import Draft, Parsed, Written
from reconciler.manifest.errors import Location
from reconciler.manifest.resources import ContactResource, GroupResource

READERS: Final[dict[str, Callable[[str, str], Parsed]]] = {
    "google-csv": google_csv.read,
    "outlook-csv": outlook_csv.read,
    "vcard": vcard.read,
}
WRITERS: Final[
    dict[str, Callable[[Sequence[ContactResource], Sequence[GroupResource]], Written]]
] = {"google-csv": google_csv.write, "vcard": vcard_write.write}


def detect(text: str) -> str | None:
    """The format of a file's text, or None when it is none of ours."""
    if vcard.looks_like(text):
        return "vcard"
    first = text.removeprefix("\ufeff").split("\n", 1)[0]
    header = [cell.strip().strip('"') for cell in first.split(",")]
    if outlook_csv.looks_like(header):
        return "outlook-csv"
    if google_csv.looks_like(header):
        return "google-csv"
    return None


def read(text: str, path: str, format: str | None = None) -> Parsed:
    """Drafts from one file's text in ``format`` (recognised from the text when None)."""
    chosen = format or detect(text)
    if chosen is None:
        parsed = Parsed()
        parsed.error(
            Location(path, 1, 1),
            "not a Google Contacts CSV, Outlook CSV or vCard file",
            "export from Google Contacts or Outlook, or pass --format",
        )
        return parsed
    return READERS[chosen](text, path)


def write(
    format: str, contacts: Sequence[ContactResource], groups: Sequence[GroupResource]
) -> Written:
    """Resources as text in ``format`` (``google-csv`` or ``vcard``)."""
    return WRITERS[format](contacts, groups)


__all__ = [
    "LAYOUTS",
    "READERS",
    "SCHEMA_FILE",
    "WRITERS",
    "Draft",
    "Imported",
    "Layout",
    "Parsed",
    "Written",
    "detect",
    "lay_out",
    "read",
    "to_manifests",
    "write",
]
