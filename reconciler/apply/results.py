"""What one apply did, contact by contact.

The apply never stops at the first problem: one contact in conflict, one batch refused, one
group that would not update must not stop the other 999 contacts from converging. So instead of
raising, every step records a typed outcome per object, and the caller (the CLI, the controller)
decides what to do with the leftovers: print them, exit non-zero, or requeue each key with its
own backoff at ``retry_at``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """The fate of one contact or group in one apply."""

    CREATED = "created"
    UPDATED = "updated"
    ADOPTED = "adopted"  # an unstamped live contact taken over (stamped and updated)
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"  # deliberately not done (protection or stamp changed, stale saved plan)
    CONFLICT = "conflict"  # still contended after the retries; try again at retry_at
    PENDING = "pending"  # a create whose outcome is not known yet; settles at retry_at
    FAILED = "failed"

    @property
    def converged(self) -> bool:
        """Whether the object needs no further attempt."""
        return self not in (Outcome.CONFLICT, Outcome.PENDING, Outcome.FAILED)


@dataclass(frozen=True, slots=True)
class ObjectResult:
    """One contact's (or group's) outcome; ``reason`` is for humans, never personal data."""

    kind: str  # "contact" | "group"
    key: str  # the manifest name (metadata.name)
    outcome: Outcome
    reason: str = ""
    resource_name: str | None = None
    retry_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The same names as a plan's JSON items: ``name``, ``resource_name`` (snake case)."""
        data: dict[str, Any] = {"kind": self.kind, "name": self.key, "outcome": str(self.outcome)}
        if self.reason:
            data["reason"] = self.reason
        if self.resource_name:
            data["resource_name"] = self.resource_name
        if self.retry_at is not None:
            data["retry_at"] = self.retry_at.isoformat()
        return data


# An apply's JSON summary counts what it did with the words (and the units: contacts and groups)
# of the plan's JSON summary, so that the two can be compared key by key.
SUMMARY_KEYS: dict[Outcome, str] = {
    Outcome.CREATED: "add",
    Outcome.UPDATED: "change",
    Outcome.ADOPTED: "adopt",
    Outcome.DELETED: "destroy",
    Outcome.UNCHANGED: "unchanged",
    Outcome.SKIPPED: "skipped",
}


@dataclass(slots=True)
class ApplyResult:
    """Every object's latest outcome, in the order they were first seen."""

    _by_key: dict[tuple[str, str], ObjectResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # whole-run problems (listing failed, ...)
    cancelled: bool = False  # the plan was shown and not approved: nothing was written
    stopped: bool = False  # asked to stop between two batches; what was not sent has no outcome
    refused: str | None = None  # a guard refused the plan as unsafe (also among ``errors``)
    drift: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> fields left as is
    orphans: set[tuple[str, str]] = field(default_factory=set)  # kept, their manifest gone

    def record(self, result: ObjectResult) -> None:
        """Record (or supersede) the outcome of ``(kind, key)``."""
        self._by_key[(result.kind, result.key)] = result

    def get(self, kind: str, key: str) -> ObjectResult | None:
        return self._by_key.get((kind, key))

    @property
    def results(self) -> list[ObjectResult]:
        return list(self._by_key.values())

    @property
    def left(self) -> list[ObjectResult]:
        """What is not converged: conflicts, pending creates and failures."""
        return [r for r in self._by_key.values() if not r.outcome.converged]

    @property
    def converged(self) -> bool:
        return not self.errors and not self.left

    def counts(self) -> Counter[Outcome]:
        return Counter(r.outcome for r in self._by_key.values())

    def summary_counts(self) -> dict[str, int]:
        """``{"add": 1, "change": 2, "adopt": 0, "destroy": 0, "unchanged": 7, "skipped": 0,
        "orphaned": 0, "left": 1}``: every key of a plan's JSON summary, plus an apply's own."""
        counts = self.counts()
        summary = {key: counts[outcome] for outcome, key in SUMMARY_KEYS.items()}
        summary["orphaned"] = sum(
            1 for key in self.orphans if self._by_key[key].outcome is Outcome.UNCHANGED
        )  # counted in unchanged too, as in a plan
        summary["left"] = len(self.left)
        return summary

    def summary(self) -> str:
        """``Apply: 3 created, 1 updated, 0 deleted, 7 unchanged, 1 left.``"""
        counts = self.counts()
        parts = [
            f"{counts[Outcome.CREATED]} created",
            f"{counts[Outcome.UPDATED]} updated",
            f"{counts[Outcome.DELETED]} deleted",
            f"{counts[Outcome.UNCHANGED]} unchanged",
        ]
        if counts[Outcome.ADOPTED]:
            parts.insert(2, f"{counts[Outcome.ADOPTED]} adopted")
        if counts[Outcome.SKIPPED]:
            parts.append(f"{counts[Outcome.SKIPPED]} skipped")
        parts.append(f"{len(self.left)} left")
        return "Apply: " + ", ".join(parts) + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "converged": self.converged,
            "summary": self.summary_counts(),
            "errors": list(self.errors),
            "results": [r.to_json() for r in self._by_key.values()],
        }
