"""The two inputs of a plan: the desired state (manifests) and the live state (API JSON).

The desired side is described structurally (``Protocol``) so that the core depends on what a
manifest resource offers, not on how the loader builds it. Both sides carry a ``complete`` flag:
a failed or partial load or listing must never be read as "these contacts are gone".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Person = dict[str, Any]
"""A People API Person (or ContactGroup) as the API's JSON: the live side's one shape."""

# Annotations of a manifest that the reconciler itself reads.
PRUNE_ANNOTATION = "reconciler/prune"  # "false": never delete this contact
ADOPT_ANNOTATION = "reconciler/adopt"  # "email": adopt an unstamped contact matching by email
SUSPEND_ANNOTATION = "reconciler/suspend"  # "true": the controller leaves this contact alone
# Annotation of a contact manifest listing the names it had before ("old-a,old-b"): the live
# contact stamped with one of them is renamed in place, like Terraform's ``moved`` blocks.
PREVIOUS_NAMES_ANNOTATION = "reconciler/previous-names"
# "observe": track the live contact and report drift, never write it (Crossplane's Observe).
POLICY_ANNOTATION = "reconciler/management-policy"


def previous_names(annotations: Mapping[str, str] | None) -> tuple[str, ...]:
    """The names listed in :data:`PREVIOUS_NAMES_ANNOTATION`, in order, blanks dropped."""
    listed = (annotations or {}).get(PREVIOUS_NAMES_ANNOTATION, "")
    return tuple(dict.fromkeys(part.strip() for part in str(listed).split(",") if part.strip()))


class ContactSpecLike(Protocol):
    """What the planner needs from a contact's ``spec``."""

    @property
    def groups(self) -> Sequence[str]: ...

    def person_fields(self) -> Mapping[str, list[dict[str, Any]]]: ...


class ContactLike(Protocol):
    """A contact manifest: a stable name, labels, annotations and a spec."""

    @property
    def name(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def annotations(self) -> Mapping[str, str]: ...

    @property
    def spec(self) -> ContactSpecLike: ...


class GroupSpecLike(Protocol):
    """What the planner needs from a group's ``spec``: its display name."""

    @property
    def name(self) -> str: ...


class GroupLike(Protocol):
    """A contact group manifest."""

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> GroupSpecLike: ...


@dataclass(frozen=True)
class DesiredState:
    """Manifests as loaded; ``complete`` is false when loading failed or skipped files.

    ``revision`` names the one revision of the manifests they were read from (a git commit or
    a content digest), carried into plans, saved plans and logs; None when nobody said.
    ``fingerprint`` is the digest of their content (the same in any checkout), which a saved
    plan records so that applying it can tell that the manifests changed since.
    """

    contacts: Sequence[ContactLike] = ()
    groups: Sequence[GroupLike] = ()
    complete: bool = True
    revision: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True)
class LiveState:
    """Persons and contact groups as the People API returned them (plain JSON dicts).

    ``complete`` is false when the listing failed, was cut short or came from an incremental
    sync that may miss contacts.
    """

    people: Sequence[Mapping[str, Any]] = ()
    groups: Sequence[Mapping[str, Any]] = ()
    complete: bool = True


def location_of(resource: object) -> str:
    """``file:line:col`` of a manifest resource when the loader recorded one, else its name."""
    location = getattr(resource, "location", None)
    if location is None:
        return f"{getattr(resource, 'name', '?')}"
    path = getattr(location, "path", None)
    line = getattr(location, "line", None)
    if path is not None and line is not None:
        return f"{path}:{line}:{getattr(location, 'col', 1)}"
    return str(location)
