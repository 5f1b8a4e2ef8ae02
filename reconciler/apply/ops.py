"""The executor's unit of work: one write to one contact or group, as data.

The planner (the pure core) decides *what* each object needs; these records are the engine's own
view of that decision, reduced to what the wire needs (a body, a mask, an etag). Keeping them
separate lets the executor be tested and reasoned about without the planner's richer types, and
lets a conflict re-plan a single contact and get back the same kind of record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class OpKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Op:
    """A write to one object: ``body`` is what to send (for an update: the masked fields plus
    the etag), ``mask`` the ``updateMask`` field names, ``etag`` the etag the plan saw."""

    kind: OpKind
    key: str
    resource_name: str | None = None
    etag: str | None = None
    body: dict[str, Any] = field(default_factory=dict)
    mask: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContactOp(Op):
    """A write to one contact; contact deletes use ``etag`` only to decide whether a saved plan
    still holds (the API takes none). ``adopt``: the update stamps an unowned contact."""

    adopt: bool = False


@dataclass(frozen=True, slots=True)
class GroupOp(Op):
    """A write to one contact group; ``body`` is the ContactGroup JSON to send."""
