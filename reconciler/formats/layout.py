"""How imported or exported manifests are split into files.

``group`` (the default for imports): ``groups.yaml`` with every ContactGroup, and one file per
group under ``contacts/`` holding the contacts whose first group (by name) it is; contacts in no
group go to ``contacts/_ungrouped.yaml`` (no manifest name starts with ``_``, so it never clashes
with a group). ``contact``: one file per contact under ``contacts/``, which keeps later pull
requests small. ``single``: everything in one ``contacts.yaml``.

Every file starts with the ``yaml-language-server`` line that points editors at the schema,
given as a path relative to the output folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Final, Literal

from reconciler.manifest.dumper import dump_resources
from reconciler.manifest.resources import ContactResource, GroupResource

Layout = Literal["group", "contact", "single"]
LAYOUTS: Final[tuple[str, ...]] = ("group", "contact", "single")
SCHEMA_FILE: Final = ".schema/reconciler-v1.json"
UNGROUPED: Final = "_ungrouped"


def lay_out(
    contacts: Sequence[ContactResource],
    groups: Sequence[GroupResource],
    layout: Layout = "group",
    *,
    schema: str | None = SCHEMA_FILE,
) -> dict[str, str]:
    """Relative file path -> YAML text. ``schema``: the schema's path relative to the folder."""
    files: dict[str, list[ContactResource | GroupResource]] = {}
    groups = sorted(groups, key=lambda group: group.name)
    contacts = sorted(contacts, key=lambda contact: contact.name)
    if layout == "single":
        files["contacts.yaml"] = [*groups, *contacts]
    else:
        if groups:
            files["groups.yaml"] = list(groups)
        for contact in contacts:
            if layout == "contact":
                stem = contact.name
            else:
                stem = sorted(contact.spec.groups)[0] if contact.spec.groups else UNGROUPED
            files.setdefault(f"contacts/{stem}.yaml", []).append(contact)
    return {
        path: dump_resources(resources, schema=_relative(schema, path))
        for path, resources in files.items()
    }


def _relative(schema: str | None, path: str) -> str | None:
    if schema is None or "://" in schema:
        return schema
    return posixpath.relpath(schema, posixpath.dirname(path) or ".")
