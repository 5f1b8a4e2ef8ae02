"""Desired-state objects for apply tests, built without YAML.

They use the core tests' stand-ins for manifest resources (``tests.core.factories``), so
tests state exactly the manifests they mean without depending on the loader's file handling.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.model import DesiredState
from tests.core.factories import Contact, Group, GroupSpec, Spec


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
