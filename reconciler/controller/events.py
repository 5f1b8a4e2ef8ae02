"""Transitions worth telling someone about, as the status model raises them.

A notification names what happened (a pass failed, drift detected or corrected, manifests broken
or fixed, deletes withheld, a contact stalled, a revision pending or applied), the account's
label, the contact's manifest name and the manifests revision: never a contact's fields. The
notifier deduplicates on exactly those names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["Event", "EventKind"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EventKind(StrEnum):
    PASS_FAILED = "PassFailed"
    DRIFT_DETECTED = "DriftDetected"
    DRIFT_CORRECTED = "DriftCorrected"
    MANIFESTS_BROKEN = "ManifestsInvalid"
    MANIFESTS_FIXED = "ManifestsFixed"
    DELETES_WITHHELD = "DeletesWithheld"
    CONTACT_STALLED = "ContactStalled"
    REVISION_PENDING = "RevisionPending"  # a new manifests revision loaded, not applied yet
    REVISION_APPLIED = "RevisionApplied"  # ... and now every contact matches it


@dataclass(frozen=True, slots=True)
class Event:
    """A transition worth telling someone about. Never carries contact data, only keys."""

    kind: EventKind
    account: str
    revision: str | None
    message: str
    key: str | None = None  # the contact, for per-contact events
    at: datetime = field(default_factory=_utcnow)

    @property
    def outcome(self) -> str:
        """``failure``, ``success`` or ``pending``, as a commit status would say it."""
        if self.kind is EventKind.REVISION_PENDING:
            return "pending"
        good = (EventKind.DRIFT_CORRECTED, EventKind.MANIFESTS_FIXED, EventKind.REVISION_APPLIED)
        return "success" if self.kind in good else "failure"

    @property
    def progress(self) -> bool:
        """A revision's progress rather than a problem or its fix (commit statuses only)."""
        return self.kind in (EventKind.REVISION_PENDING, EventKind.REVISION_APPLIED)
