"""Live People API persons and ownership stamps for tests, as the API's JSON.

Stamps are spelled out here as literal ``clientData`` entries rather than built with
``reconciler.model.stamps``, so a test of the stamp reader does not trust the stamp writer.
"""

from __future__ import annotations

from typing import Any

from reconciler.model import LiveState


def stamp(owner: str, name: str, fields: str, *extra: dict[str, str]) -> list[dict[str, str]]:
    """The ``clientData`` of a contact stamped by ``owner`` as manifest ``name`` managing
    ``fields`` (comma-separated), after ``extra`` entries of someone else's."""
    return [
        *extra,
        {"key": "reconciler.owner", "value": owner},
        {"key": "reconciler.name", "value": name},
        {"key": "reconciler.fields", "value": fields},
    ]


def person(rn: str, etag: str = "e1", **fields: Any) -> dict[str, Any]:
    """A listed contact ``rn`` with ``fields``, in My Contacts unless memberships are given."""
    body = {"resourceName": rn, "etag": etag, **fields}
    body.setdefault(
        "memberships",
        [{"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}],
    )
    return body


def new_person(i: int, **extra: Any) -> dict[str, Any]:
    """Person number ``i`` as a create body: a name and an email."""
    return {
        "names": [{"givenName": f"Person{i}", "familyName": "Test"}],
        "emailAddresses": [{"value": f"person{i}@example.com"}],
        **extra,
    }


def stamped(name: str, owner: str, fields: str = "names") -> dict[str, Any]:
    """A create body for a contact named ``name``, stamped by ``owner`` as manifest ``name``."""
    return {"names": [{"givenName": name}], "clientData": stamp(owner, name, fields)}


def live(
    *people: dict[str, Any], groups: tuple[dict[str, Any], ...] = (), complete: bool = True
) -> LiveState:
    return LiveState(people=list(people), groups=list(groups), complete=complete)
