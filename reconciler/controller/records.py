"""The parts of an account's status: a key waiting in the queue, a pass, a managed contact.

Each knows how it appears in ``/status`` (``to_json``); the account status in
:mod:`reconciler.controller.status` composes them and derives its conditions from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.controller.conditions import Conditions, ConditionType, Status, iso

__all__ = ["ContactStatus", "PassRecord", "Waiting"]


@dataclass(frozen=True, slots=True)
class Waiting:
    """A key in the queue: when it runs next, why, and how many retries it has had."""

    key: str
    next_attempt: datetime
    reason: str
    retries: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "nextAttempt": iso(self.next_attempt),
            "reason": self.reason,
            "retries": self.retries,
        }


@dataclass(slots=True)
class PassRecord:
    started: datetime
    triggers: tuple[str, ...]
    keys: int
    finished: datetime | None = None
    outcome: str | None = None  # success | requeue | error | skipped
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "start": iso(self.started),
            "end": iso(self.finished) if self.finished else None,
            "outcome": self.outcome,
            "triggers": list(self.triggers),
            "keys": self.keys,
            "counts": dict(sorted(self.counts.items())),
            "message": self.message,
        }


@dataclass(slots=True)
class ContactStatus:
    key: str
    conditions: Conditions
    outcome: str | None = None
    resource_name: str | None = None
    message: str = ""

    @property
    def synced(self) -> bool:
        return self.conditions[ConditionType.SYNCED].status is not Status.FALSE

    def to_json(self, waiting: Waiting | None) -> dict[str, Any]:
        return {
            "key": self.key,
            "resourceName": self.resource_name,
            "lastOutcome": self.outcome,
            "nextAttempt": iso(waiting.next_attempt) if waiting else None,
            "conditions": self.conditions.to_json(),
        }
