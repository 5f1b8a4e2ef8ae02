"""What the controller knows about each account, kept for people: conditions, passes, queues.

Logs say what happened; an operator asks what *is*: which accounts are out of sync, since when,
at which manifests revision, and why. This model answers that. It is pure: the account loop
tells it what happened (a load, a pass, its per-contact outcomes, a requeue) and it keeps
Kubernetes-style conditions per account and per managed contact, the last pass, the keys
waiting in the queue with their next attempt, conflicts, withheld deletes and orphans. It does
no I/O; ``/status``, the status page, ``reconciler status`` and notifications all read it.

Time comes from an injected wall clock (``now``); the queue's delays are relative seconds and
become wall-clock "next attempt" instants here. Every transition a person should hear about
(a pass failed, drift detected or corrected, manifests broken or fixed, deletes withheld, a
contact stalled in conflict) is handed to ``on_event``; deduplication is the notifier's job.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from reconciler.controller.conditions import Conditions, ConditionType, Status, iso
from reconciler.controller.events import Event, EventKind
from reconciler.controller.records import ContactStatus, PassRecord, Waiting
from reconciler.plan.model import Action, Kept, Kind, Plan

__all__ = ["STALL_AFTER", "AccountState", "AccountStatus", "StatusBoard", "kept_deletions"]

STALL_AFTER = 3
"""A contact still in conflict after this many requeues is stalled: another writer is fighting."""

_CONVERGED = {"created", "updated", "deleted", "unchanged", "skipped"}
_NOT_SYNCED_REASON = {"conflict": "Conflict", "pending": "CreatePending", "failed": "Failed"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AccountState(StrEnum):
    """One word per account, for tables and exit codes; the conditions say the rest."""

    IN_SYNC = "InSync"
    OUT_OF_SYNC = "OutOfSync"
    PROGRESSING = "Progressing"  # no full pass yet
    FAILED = "Failed"  # the last pass failed
    STALLED = "Stalled"  # needs a person
    SUSPENDED = "Suspended"

    @property
    def settled(self) -> bool:
        """Nothing is out of sync (``reconciler status`` exits 0)."""
        return self in (AccountState.IN_SYNC, AccountState.SUSPENDED)


class AccountStatus:
    """One account, as the account loop reports it."""

    def __init__(
        self,
        name: str,
        *,
        drift_policy: str,
        suspended: bool,
        now: Callable[[], datetime],
        emit: Callable[[Event], None],
    ) -> None:
        self.name, self.drift_policy, self.suspended = name, drift_policy, suspended
        self._now, self._emit = now, emit
        self.conditions = Conditions(now)
        self.revision: str | None = None  # of the manifests last applied
        self.loaded_revision: str | None = None  # of the manifests last loaded
        self.manifest_errors: tuple[str, ...] = ()
        self.last_pass: PassRecord | None = None
        self.current_pass: PassRecord | None = None
        self.reconciled = False  # a full pass has finished
        self.pass_error = ""
        self.lease_wait = ""  # the last pass waited for another writer's lease: who holds it
        self.contacts: dict[str, ContactStatus] = {}
        self.waiting: dict[str, Waiting] = {}
        self.withheld: dict[str, str] = {}  # key -> why its deletion was withheld
        self.orphans: list[str] = []  # our contacts whose manifest is gone, kept
        self.refusal = ""  # a whole deletion refused (cap exceeded, nothing desired)
        self._announced: str | None = None  # the last revision told as applied
        self._summary: dict[str, Any] | None = None  # to_json() until something changes
        self._derive()

    # -- what the account loop tells us -------------------------------------------------------

    def manifests_loaded(
        self, *, errors: Iterable[str] = (), contacts: Iterable[str] = (), revision: str | None
    ) -> None:
        """A reload finished; ``contacts`` are the desired names when it was good."""
        was_broken = bool(self.manifest_errors)
        self.manifest_errors = tuple(errors)
        if self.manifest_errors:
            if not was_broken:
                count = len(self.manifest_errors)
                self._event(EventKind.MANIFESTS_BROKEN, f"{count} error(s) in the manifests")
        else:
            if revision is not None and revision != self.loaded_revision:
                pending = Event(EventKind.REVISION_PENDING, self.name, revision, "loaded")
                self._emit(replace(pending, at=self._now()))
            self.loaded_revision = revision
            names = set(contacts)
            for key in names - self.contacts.keys():
                # Interned: the live index and the desired store hold the same names.
                self.contacts[key] = ContactStatus(sys.intern(key), Conditions(self._now))
            for key in self.contacts.keys() - names:
                del self.contacts[key]
            if was_broken:
                self._event(EventKind.MANIFESTS_FIXED, "the manifests load again")
        self._derive()

    def queued(self, key: str, delay: float, reason: str, retries: int = 0) -> None:
        """``key`` runs again in ``delay`` seconds; as in the queue, an earlier attempt wins."""
        due = self._now() + timedelta(seconds=max(0.0, delay))
        known = self.waiting.get(key)
        if known is not None:
            due, retries = min(due, known.next_attempt), max(retries, known.retries)
        self.waiting[key] = Waiting(key, due, reason, retries)
        self._summary = None

    def pass_started(self, keys: Iterable[str], triggers: Iterable[str]) -> None:
        keys = list(keys)
        for key in keys:
            self.waiting.pop(key, None)
        self.current_pass = PassRecord(self._now(), tuple(sorted(triggers)), len(keys))
        self._summary = None

    def pass_finished(self, outcome: str, counts: Mapping[str, int], message: str = "") -> None:
        """The pass in flight ended with ``outcome`` (success, requeue, error, skipped, or
        waiting: for another writer's lease, ``message`` naming it)."""
        record = self.current_pass or PassRecord(self._now(), (), 0)
        record.finished, record.outcome = self._now(), outcome
        record.counts, record.message = dict(counts), message
        self.last_pass, self.current_pass = record, None
        if outcome != "skipped":
            self.lease_wait = message if outcome == "waiting" else ""
        if outcome == "error":
            if not self.pass_error:
                self._event(EventKind.PASS_FAILED, message or "the pass failed")
            self.pass_error = message or "the pass failed"
        elif outcome not in ("skipped", "waiting"):
            self.pass_error = ""
        self._derive()

    def full_pass_done(self) -> None:
        """A pass over the whole account finished (readiness)."""
        if not self.reconciled:
            self.reconciled = True
            self._derive()
            self._announce()

    def applied(self, results: Iterable[tuple[str, str, str, str | None]], live: set[str]) -> None:
        """Per-contact outcomes ``(key, outcome, reason, resource name)`` of a converge;
        ``live`` are the keys an out-of-band change brought into this pass."""
        for key, outcome, reason, resource_name in results:
            contact = self.contacts.get(key)
            if contact is None:
                continue
            contact.outcome, contact.message = outcome, reason
            if resource_name:
                contact.resource_name = sys.intern(resource_name)
            c = contact.conditions
            was_drifted = c.is_true(ConditionType.DRIFTED)
            if outcome in _CONVERGED:
                c.set(ConditionType.READY, Status.TRUE, "Reconciled", outcome)
                c.set(ConditionType.SYNCED, Status.TRUE, "InSync", reason or outcome)
                c.set(ConditionType.STALLED, Status.FALSE, "Converged", "")
                written = outcome in ("created", "updated")
                if written and (key in live or was_drifted):
                    c.set(ConditionType.DRIFTED, Status.FALSE, "DriftCorrected", "written back")
                    self._event(EventKind.DRIFT_CORRECTED, "written back", key)
                else:
                    c.set(ConditionType.DRIFTED, Status.FALSE, "NoDrift", "")
                continue
            why = _NOT_SYNCED_REASON.get(outcome, "Failed")
            c.set(ConditionType.READY, Status.FALSE, why, reason or outcome)
            c.set(ConditionType.SYNCED, Status.FALSE, why, reason or outcome)
            retries = self.waiting[key].retries if key in self.waiting else 0
            if outcome == "conflict" and retries >= STALL_AFTER:
                message = f"still in conflict after {retries} retries: another writer?"
                if c.set(ConditionType.STALLED, Status.TRUE, "ConflictRepeated", message):
                    self._event(EventKind.CONTACT_STALLED, message, key)
        self.revision = self.loaded_revision
        self._derive()
        self._announce()

    def drift_checked(self, drifted: Mapping[str, str], checked: Iterable[str] | None) -> None:
        """A plan-only pass (``report``): ``drifted`` key -> changed fields; ``checked`` are the
        keys it looked at (None: every contact). Keys checked and not drifted are in sync."""
        keys = set(self.contacts) if checked is None else set(checked)
        for key in sorted(keys | set(drifted)):
            contact = self.contacts.get(key)
            if contact is None:
                continue
            c = contact.conditions
            if key in drifted:
                message = f"changed outside the manifests: {drifted[key]}"
                c.set(ConditionType.SYNCED, Status.FALSE, "Drifted", message)
                if c.set(ConditionType.DRIFTED, Status.TRUE, "DriftDetected", message):
                    self._event(EventKind.DRIFT_DETECTED, message, key)
            else:
                was_drifted = c.is_true(ConditionType.DRIFTED)
                c.set(ConditionType.SYNCED, Status.TRUE, "InSync", "matches the manifests")
                c.set(ConditionType.DRIFTED, Status.FALSE, "NoDrift", "")
                if was_drifted:
                    self._event(EventKind.DRIFT_CORRECTED, "matches the manifests again", key)
        self._derive()

    def deletions(self, *, withheld: Mapping[str, str], orphans: Iterable[str]) -> None:
        """What a full plan kept of our contacts whose manifest is gone."""
        fresh = set(withheld) - set(self.withheld)
        self.withheld, self.orphans = dict(withheld), sorted(orphans)
        if fresh:
            self._event(EventKind.DELETES_WITHHELD, f"{len(withheld)} deletion(s) withheld")
        self._derive()

    def deletion_refused(self, message: str) -> None:
        """A plan refused to delete at all (too many deletions, nothing desired)."""
        if message and message != self.refusal:
            self._event(EventKind.DELETES_WITHHELD, message)
        self.refusal = message
        self._derive()

    # -- what people read ---------------------------------------------------------------------

    @property
    def state(self) -> AccountState:
        c = self.conditions
        if self.suspended:
            return AccountState.SUSPENDED
        if c.is_true(ConditionType.STALLED):
            return AccountState.STALLED
        if self.pass_error:
            return AccountState.FAILED
        if not self.reconciled:
            return AccountState.PROGRESSING
        if c[ConditionType.SYNCED].status is Status.TRUE:
            return AccountState.IN_SYNC
        return AccountState.OUT_OF_SYNC

    @property
    def message(self) -> str:
        """One line on what matters most: what stalls it, else what keeps it from being ready,
        else how in sync it is."""
        c = self.conditions
        if c.is_true(ConditionType.STALLED):
            return c[ConditionType.STALLED].message
        if c[ConditionType.READY].status is Status.FALSE:
            return c[ConditionType.READY].message
        return c[ConditionType.SYNCED].message

    def counts(self) -> dict[str, int]:
        out_of_sync = drifted = conflicts = stalled = 0
        for contact in self.contacts.values():
            c = contact.conditions
            if not contact.synced:
                out_of_sync += 1
                conflicts += contact.outcome == "conflict"
            drifted += c.is_true(ConditionType.DRIFTED)
            stalled += c.is_true(ConditionType.STALLED)
        return {
            "total": len(self.contacts),
            "outOfSync": out_of_sync,
            "drifted": drifted,
            "conflicts": conflicts,
            "stalled": stalled,
            "queued": len(self.waiting),
        }

    def conflicts(self) -> list[dict[str, Any]]:
        out = []
        for key in sorted(self.contacts):
            contact = self.contacts[key]
            if contact.outcome == "conflict" and not contact.synced:
                waiting = self.waiting.get(key)
                out.append(
                    {
                        "key": key,
                        "nextAttempt": iso(waiting.next_attempt) if waiting else None,
                        "retries": waiting.retries if waiting else 0,
                        "message": contact.message,
                    }
                )
        return out

    def to_json(self, *, contacts: bool = False) -> dict[str, Any]:
        """The account as ``/status`` shows it; with ``contacts``, as ``/status/{name}`` does.
        The summary is kept until the account changes: a page of 1,000 accounts refreshed every
        few seconds re-renders only what moved."""
        if not contacts and self._summary is not None:
            return self._summary
        data: dict[str, Any] = {
            "name": self.name,
            "state": str(self.state),
            "message": self.message,
            "driftPolicy": self.drift_policy,
            "suspended": self.suspended,
            "revision": self.revision,
            "conditions": self.conditions.to_json(),
            "lastPass": self.last_pass.to_json() if self.last_pass else None,
            "passInFlight": self.current_pass.to_json() if self.current_pass else None,
            "counts": self.counts(),
            "queued": [w.to_json() for w in sorted(self.waiting.values(), key=_by_due)],
            "conflicts": self.conflicts(),
            "withheldDeletes": [{"key": k, "reason": r} for k, r in sorted(self.withheld.items())],
            "orphans": list(self.orphans),
            "manifestErrors": len(self.manifest_errors),
        }
        if contacts:
            data["manifestErrorMessages"] = list(self.manifest_errors)
            data["contacts"] = [
                self.contacts[k].to_json(self.waiting.get(k)) for k in sorted(self.contacts)
            ]
        else:
            self._summary = data
        return data

    # -- internals ----------------------------------------------------------------------------

    def _event(self, kind: EventKind, message: str, key: str | None = None) -> None:
        revision = self.loaded_revision if kind is EventKind.MANIFESTS_FIXED else self.revision
        self._emit(Event(kind, self.name, revision, message, key, self._now()))

    def _announce(self) -> None:
        """Tell once that the revision in force is applied, when every contact matches it."""
        if self.revision and self.revision != self._announced and self.state.settled:
            self._announced = self.revision
            self._event(EventKind.REVISION_APPLIED, "every contact matches the manifests")

    def _derive(self) -> None:
        """Recompute the account's conditions from what is known."""
        self._summary = None
        c, counts = self.conditions, self.counts()
        if self.suspended:
            c.set(ConditionType.READY, Status.TRUE, "Suspended", "suspended: nothing is written")
            c.set(ConditionType.SYNCED, Status.UNKNOWN, "Suspended", "not reconciled: suspended")
            c.set(ConditionType.DRIFTED, Status.UNKNOWN, "Suspended", "not watched: suspended")
            c.set(ConditionType.STALLED, Status.FALSE, "Suspended", "")
            return
        broken = len(self.manifest_errors)
        if broken:
            message = (
                f"{broken} manifest error(s); the last good manifests stay, nothing is written"
            )
            c.set(ConditionType.READY, Status.FALSE, "ManifestsInvalid", message)
        elif self.pass_error:
            c.set(ConditionType.READY, Status.FALSE, "PassFailed", self.pass_error)
        elif self.lease_wait:
            c.set(ConditionType.READY, Status.FALSE, "WaitingForLease", self.lease_wait)
        elif not self.reconciled:
            c.set(ConditionType.READY, Status.FALSE, "Progressing", "the first full pass is due")
        else:
            message = "the manifests load and the last pass did not fail"
            c.set(ConditionType.READY, Status.TRUE, "Reconciled", message)
        out = counts["outOfSync"]
        unknown = any(
            x.conditions[ConditionType.SYNCED].status is Status.UNKNOWN
            for x in self.contacts.values()
        )
        if out:
            parts = [f"{out} of {counts['total']} contact(s) out of sync"]
            parts += [f"{counts[k]} {k}" for k in ("drifted", "conflicts") if counts[k]]
            c.set(ConditionType.SYNCED, Status.FALSE, "OutOfSync", "; ".join(parts))
        elif broken or self.pass_error:
            c.set(ConditionType.SYNCED, Status.FALSE, "NotApplied", "the manifests are not applied")
        elif not self.reconciled or unknown:
            c.set(ConditionType.SYNCED, Status.UNKNOWN, "Progressing", "not every contact is seen")
        else:
            c.set(ConditionType.SYNCED, Status.TRUE, "InSync", f"{counts['total']} contact(s)")
        if counts["drifted"]:
            message = f"{counts['drifted']} contact(s) changed outside the manifests"
            c.set(ConditionType.DRIFTED, Status.TRUE, "DriftDetected", message)
        else:
            c.set(ConditionType.DRIFTED, Status.FALSE, "NoDrift", "")
        if broken:
            message = f"{broken} manifest error(s): fix them; nothing is written until then"
            c.set(ConditionType.STALLED, Status.TRUE, "ManifestsInvalid", message)
        elif self.refusal:
            c.set(ConditionType.STALLED, Status.TRUE, "DeletesRefused", self.refusal)
        elif self.withheld:
            message = f"{len(self.withheld)} deletion(s) withheld"
            c.set(ConditionType.STALLED, Status.TRUE, "DeletesWithheld", message)
        elif counts["stalled"]:
            message = f"{counts['stalled']} contact(s) stuck in conflict"
            c.set(ConditionType.STALLED, Status.TRUE, "ConflictRepeated", message)
        else:
            c.set(ConditionType.STALLED, Status.FALSE, "NotStalled", "")


def _by_due(waiting: Waiting) -> tuple[datetime, str]:
    return waiting.next_attempt, waiting.key


def kept_deletions(plan: Plan) -> tuple[dict[str, str], list[str]]:
    """Our contacts a plan kept although their manifest is gone: ``(withheld, orphans)``.

    Every kept orphan counts; those the guards held back because loading or listing was
    incomplete (marked :attr:`Kept.WITHHELD`) are withheld deletes too.
    """
    withheld: dict[str, str] = {}
    orphans: list[str] = []
    for item in plan.items:
        if item.kind is Kind.CONTACT and item.action is Action.NOOP and item.orphan:
            orphans.append(item.key)
            if item.kept is Kept.WITHHELD:
                withheld[item.key] = item.reason
    return withheld, orphans


class StatusBoard:
    """Every account of this controller (this shard), by label."""

    def __init__(
        self,
        now: Callable[[], datetime] = _utcnow,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.now = now
        self.accounts: dict[str, AccountStatus] = {}
        self.listeners: list[Callable[[Event], None]] = [on_event] if on_event else []
        self.started = now()
        # Other parts of the controller shown beside the accounts (``directory``: the
        # Directory refresh), each rendered by its callable when /status is asked.
        self.sections: dict[str, Callable[[], Any]] = {}

    def account(self, name: str, *, drift_policy: str, suspended: bool) -> AccountStatus:
        status = AccountStatus(
            name, drift_policy=drift_policy, suspended=suspended, now=self.now, emit=self._emit
        )
        self.accounts[name] = status
        return status

    def forget(self, name: str) -> None:
        """The account ``name`` is no longer run by this controller."""
        self.accounts.pop(name, None)

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def timestamp(self) -> str:
        """The current time as the JSON writes it."""
        return iso(self.now())

    def to_json(self) -> dict[str, Any]:
        accounts = [self.accounts[name].to_json() for name in sorted(self.accounts)]
        states = [a["state"] for a in accounts]
        return {
            "apiVersion": "reconciler/v1",
            "kind": "ControllerStatus",
            "generatedAt": iso(self.now()),
            "startedAt": iso(self.started),
            "summary": {
                "accounts": len(accounts),
                "inSync": sum(1 for s in states if AccountState(s).settled),
                "outOfSync": sum(1 for s in states if not AccountState(s).settled),
                "byState": {str(s): states.count(str(s)) for s in AccountState if str(s) in states},
            },
            "accounts": accounts,
            **{name: render() for name, render in self.sections.items()},
        }
