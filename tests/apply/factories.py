"""Desired-state objects for apply tests, built without YAML.

They satisfy the core's ``ContactLike``/``GroupLike`` protocols, so tests state exactly the
manifests they mean without depending on the loader's file handling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import DesiredState


@dataclass(frozen=True)
class Spec:
    fields: Mapping[str, list[dict[str, Any]]]
    groups: Sequence[str] = ()

    def person_fields(self) -> Mapping[str, list[dict[str, Any]]]:
        return self.fields


@dataclass(frozen=True)
class Contact:
    name: str
    spec: Spec
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupSpec:
    name: str


@dataclass(frozen=True)
class Group:
    name: str
    spec: GroupSpec


def contact(i: int, *, title: str = "Engineer", groups: Sequence[str] = ()) -> Contact:
    """Contact number ``i``: a name, an email and an organization (its managed fields)."""
    return Contact(
        name=f"person-{i:05d}",
        spec=Spec(
            {
                "names": [{"givenName": f"Given{i}", "familyName": f"Family{i}"}],
                "emailAddresses": [{"value": f"person{i}@example.com", "type": "work"}],
                "organizations": [{"name": "Acme", "title": title}],
            },
            groups=tuple(groups),
        ),
    )


def book(n: int, *, groups: int = 0, title: str = "Engineer", start: int = 0) -> DesiredState:
    """``n`` contacts spread over ``groups`` groups."""
    group_list = [Group(f"team-{g}", GroupSpec(f"Team {g}")) for g in range(groups)]
    contacts = [
        contact(i, title=title, groups=[group_list[i % groups].name] if groups else [])
        for i in range(start, start + n)
    ]
    return DesiredState(contacts=contacts, groups=group_list)
