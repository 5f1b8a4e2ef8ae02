"""Suspended contacts: left alone by the controller, and so never pruned by it either.

A manifest annotated ``reconciler/suspend: "true"`` is taken out of the desired state
(:mod:`reconciler.controller.desired`). Its live contact is still ours, so a pruning plan would
see an orphan and delete it; before the planner sees the listing, the live copy is therefore
marked protected from pruning, exactly as ``reconciler/prune: "false"`` would mark it. It stays
listed, so the create journal still sees it.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model import PRUNE_KEY, read_stamp
from reconciler.model.inputs import Person

__all__ = ["protect_suspended"]


def protect_suspended(
    people: Iterable[Person], owner: str, suspended: frozenset[str]
) -> list[Person]:
    """``people``, with our contacts whose manifest name is ``suspended`` protected from pruning.
    With nothing suspended no stamp is read (a pass runs this over the whole listing)."""
    if not suspended:
        return list(people)
    return [_protect(p) if _suspended(p, owner, suspended) else p for p in people]


def _suspended(person: Person, owner: str, suspended: frozenset[str]) -> bool:
    stamp = read_stamp(person.get("clientData"))
    return stamp is not None and stamp.owner == owner and stamp.name in suspended


def _protect(person: Person) -> Person:
    entries = list(person.get("clientData") or [])
    return {**person, "clientData": [{"key": PRUNE_KEY, "value": "false"}, *entries]}
