"""Small stand-ins for manifest resources, shaped like ``reconciler.manifest``'s.

The planner depends on what a resource offers (see ``reconciler.model.inputs``), so tests build
desired state directly, without YAML, which keeps property tests fast.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import DesiredState, LiveState


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
    return Contact(name, Spec(dict(fields), groups), dict(annotations or {}))


def group(key: str, display: str | None = None) -> Group:
    return Group(key, GroupSpec(display or key.title()))


def desired(
    *contacts: Contact, groups: tuple[Group, ...] = (), complete: bool = True
) -> DesiredState:
    return DesiredState(contacts=list(contacts), groups=list(groups), complete=complete)


def stamp(owner: str, name: str, fields: str, *extra: dict[str, str]) -> list[dict[str, str]]:
    return [
        *extra,
        {"key": "reconciler.owner", "value": owner},
        {"key": "reconciler.name", "value": name},
        {"key": "reconciler.fields", "value": fields},
    ]


def person(rn: str, etag: str = "e1", **fields: Any) -> dict[str, Any]:
    body = {"resourceName": rn, "etag": etag, **fields}
    body.setdefault(
        "memberships",
        [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}],
    )
    return body


def live(
    *people: dict[str, Any], groups: tuple[dict[str, Any], ...] = (), complete: bool = True
) -> LiveState:
    return LiveState(people=list(people), groups=list(groups), complete=complete)
