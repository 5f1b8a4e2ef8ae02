"""Manifests for tests: in-memory stand-ins for the planner, and YAML files for the loader.

The planner depends on what a resource offers (see ``reconciler.model.inputs``), so most tests
build desired state directly, without YAML, which keeps property tests fast. Tests of the loader,
the CLI and the controller write real files instead (``contact_yaml``, ``write_tree``), and
tests of a running controller publish them as a git-sync sidecar would (:class:`PublishedTree`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.model import DesiredState


@dataclass(frozen=True)
class Spec:
    fields: dict[str, list[dict[str, Any]]]
    groups: tuple[str, ...] = ()

    def person_fields(self) -> dict[str, list[dict[str, Any]]]:
        return copy.deepcopy(self.fields)


@dataclass(frozen=True)
class Contact:
    name: str
    spec: Spec
    annotations: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupSpec:
    name: str


@dataclass(frozen=True)
class Group:
    name: str
    spec: GroupSpec


def contact(
    name: str,
    *,
    groups: tuple[str, ...] = (),
    annotations: dict[str, str] | None = None,
    **fields: list[dict[str, Any]],
) -> Contact:
    """A contact manifest named ``name`` declaring ``fields`` (People API shapes)."""
    return Contact(name, Spec(dict(fields), groups), dict(annotations or {}))


def group(key: str, display: str | None = None) -> Group:
    return Group(key, GroupSpec(display or key.title()))


def desired(
    *contacts: Contact, groups: tuple[Group, ...] = (), complete: bool = True
) -> DesiredState:
    return DesiredState(contacts=list(contacts), groups=list(groups), complete=complete)


def numbered(i: int, *, title: str = "Engineer", groups: Sequence[str] = ()) -> Contact:
    """Contact number ``i``: a name, an email and an organization (its managed fields)."""
    return contact(
        f"person-{i:05d}",
        groups=tuple(groups),
        names=[{"givenName": f"Given{i}", "familyName": f"Family{i}"}],
        emailAddresses=[{"value": f"person{i}@example.com", "type": "work"}],
        organizations=[{"name": "Acme", "title": title}],
    )


def book(n: int, *, groups: int = 0, title: str = "Engineer", start: int = 0) -> DesiredState:
    """``n`` numbered contacts spread over ``groups`` groups."""
    group_list = [Group(f"team-{g}", GroupSpec(f"Team {g}")) for g in range(groups)]
    contacts = [
        numbered(i, title=title, groups=[group_list[i % groups].name] if groups else [])
        for i in range(start, start + n)
    ]
    return DesiredState(contacts=contacts, groups=group_list)


def contact_yaml(
    name: str, given: str, *, email: str | None = None, annotations: dict[str, str] | None = None
) -> str:
    """One Contact document as a user would write it."""
    metadata = f"metadata:\n  name: {name}\n"
    if annotations:
        pairs = ", ".join(f'{key}: "{value}"' for key, value in annotations.items())
        metadata += f"  annotations: {{{pairs}}}\n"
    spec = f"  names: [{{givenName: {given}}}]\n"
    if email:
        spec += f"  emailAddresses: [{{value: {email}}}]\n"
    return f"apiVersion: reconciler/v1\nkind: Contact\n{metadata}spec:\n{spec}"


def write_tree(root: Path, contacts: range, *, title: str = "Engineer", groups: int = 2) -> Path:
    """Contacts ``contacts`` spread over ``groups`` groups, one file per group plus one for the
    groups themselves, under ``root`` (replacing what was there)."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.yaml"):
        old.unlink()
    docs = [
        f"apiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {{name: team-{g}}}\n"
        f"spec: {{name: Team {g}}}\n"
        for g in range(groups)
    ]
    (root / "groups.yaml").write_text("---\n".join(docs), encoding="utf-8")
    by_group: dict[int, list[str]] = {}
    for i in contacts:
        by_group.setdefault(i % groups, []).append(
            "apiVersion: reconciler/v1\n"
            "kind: Contact\n"
            f"metadata: {{name: person-{i:04d}}}\n"
            "spec:\n"
            f"  names: [{{givenName: Given{i}, familyName: Family{i}}}]\n"
            f"  emailAddresses: [{{value: person{i}@example.com, type: work}}]\n"
            f'  phoneNumbers: [{{value: "(650) 555-{i % 10000:04d}", type: mobile}}]\n'
            f"  organizations: [{{name: Acme, title: {title}}}]\n"
            f"  groups: [team-{i % groups}]\n"
        )
    for g, docs_ in by_group.items():
        (root / f"team-{g}.yaml").write_text("---\n".join(docs_), encoding="utf-8")
    return root


class PublishedTree:
    """A manifests folder published the way git-sync publishes one: every revision is written
    into a fresh directory and the ``current`` link is flipped to it atomically, so a watcher
    or a loader sees one whole revision or the next, never a half-written mix of the two."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        self.link = root / "current"
        self.files: dict[str, str] = {}
        self.revisions = 0
        root.mkdir(parents=True, exist_ok=True)
        self.publish(files)

    def publish(self, files: dict[str, str], *, remove: Sequence[str] = ()) -> Path:
        """The last revision with ``files`` written over it and ``remove`` gone, as the next
        revision; returns its directory."""
        self.files = {**self.files, **files}
        for name in remove:
            del self.files[name]
        self.revisions += 1
        revision = self.root / f"rev-{self.revisions:04d}"
        revision.mkdir()
        for name, text in self.files.items():
            (revision / name).write_text(text, encoding="utf-8")
        flip = self.root / f".current-{self.revisions:04d}"
        flip.symlink_to(revision.name, target_is_directory=True)
        os.replace(flip, self.link)
        return revision
