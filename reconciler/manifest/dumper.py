"""Write resources back out as manifests a person would have written.

Used by ``reconciler export`` to onboard an existing address book, and by the property tests
that hold the loader and the dumper to each other: anything dumped loads back unchanged. The
output is what the examples look like: block style, keys in the order of the API, entries that
are only a value written as bare strings, no nulls, and strings YAML would misread (``NO``,
``0123``, ``2020-01-01``) quoted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from reconciler.manifest.fields import VALUE_ENTRIES, Entry
from reconciler.manifest.resources import API_VERSION, ContactResource, GroupResource

_BARE = frozenset(VALUE_ENTRIES)


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings as literal blocks so they stay readable."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and value == value.strip() and _plain_lines(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _plain_lines(value: str) -> bool:
    return all(line == line.rstrip() and line.isprintable() for line in value.split("\n"))


_Dumper.add_representer(str, _represent_str)


def _entry(entry: Entry) -> Any:
    data = entry.model_dump(exclude_none=True)
    if type(entry) in _BARE and list(data) == ["value"]:
        return data["value"]
    return data


def contact_document(contact: ContactResource) -> dict[str, Any]:
    """The manifest of one contact, as plain data."""
    spec: dict[str, Any] = {}
    for name in type(contact.spec).model_fields:
        value = getattr(contact.spec, name)
        if name == "groups":
            if value:
                spec["groups"] = list(value)
        elif value is not None:  # an empty list is declared: it asks for the field to be empty
            spec[name] = [_entry(entry) for entry in value]
    return {
        "apiVersion": API_VERSION,
        "kind": "Contact",
        "metadata": _metadata(contact.name, contact.labels, contact.annotations),
        "spec": spec,
    }


def group_document(group: GroupResource) -> dict[str, Any]:
    """The manifest of one contact group, as plain data."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ContactGroup",
        "metadata": _metadata(group.name, group.labels, group.annotations),
        "spec": {"name": group.spec.name},
    }


def _metadata(name: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def dump_resources(
    resources: Iterable[ContactResource | GroupResource], *, schema: str | None = None
) -> str:
    """Resources as one multi-document YAML text; ``schema`` adds the editor schema line."""
    documents = [
        contact_document(r) if isinstance(r, ContactResource) else group_document(r)
        for r in resources
    ]
    text = yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
        explicit_start=False,
    )
    if schema is not None:
        text = f"# yaml-language-server: $schema={schema}\n{text}"
    return text


def dump_contacts(contacts: Iterable[ContactResource], *, schema: str | None = None) -> str:
    """Contacts as one multi-document YAML text."""
    return dump_resources(contacts, schema=schema)


def write_manifests(
    directory: Path, contacts: Sequence[ContactResource], groups: Sequence[GroupResource]
) -> list[Path]:
    """``groups.yaml`` plus one file per contact under ``contacts/``; the paths written.

    One file per contact keeps later pull requests small and their diffs obvious.
    """
    written = []
    directory.mkdir(parents=True, exist_ok=True)
    if groups:
        path = directory / "groups.yaml"
        path.write_text(dump_resources(groups), encoding="utf-8")
        written.append(path)
    if contacts:
        (directory / "contacts").mkdir(exist_ok=True)
    for contact in contacts:
        path = directory / "contacts" / f"{contact.name}.yaml"
        path.write_text(dump_contacts([contact]), encoding="utf-8")
        written.append(path)
    return written
