"""The status model: conditions per account and contact, next attempts, and transition events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import reconciler.controller.conditions as conditions_module
from reconciler.controller.conditions import Condition, ConditionType, Status
from reconciler.controller.events import Event, EventKind
from reconciler.controller.status import (
    STALL_AFTER,
    AccountState,
    AccountStatus,
    StatusBoard,
    kept_deletions,
)
from reconciler.plan.model import Action, Kept, Kind, Plan, PlanItem

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class Wall:
    """A wall clock moved by hand."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def events() -> list[Event]:
    return []


@pytest.fixture
def board(wall: Wall, events: list[Event]) -> StatusBoard:
    return StatusBoard(now=wall, on_event=events.append)


def reconciled(board: StatusBoard, *names: str, policy: str = "correct") -> AccountStatus:
    """An account whose first full pass found every contact unchanged."""
    account = board.account("acct-1", drift_policy=policy, suspended=False)
    account.manifests_loaded(contacts=names, revision="abc123")
    account.pass_started(["*"], ["start"])
    account.applied([(n, "unchanged", "", f"people/{n}") for n in names], live=set())
    account.pass_finished("success", {"unchanged": len(names)})
    account.full_pass_done()
    return account


def told(events: list[Event]) -> list[Event]:
    """The problems and fixes among ``events`` (a revision's progress left out)."""
    return [e for e in events if not e.progress]


def condition(account: AccountStatus, kind: ConditionType) -> tuple[str, str]:
    c = account.conditions[kind]
    return str(c.status), c.reason


def test_an_account_is_progressing_until_its_first_full_pass_then_in_sync(
    board: StatusBoard,
) -> None:
    """Before the first full pass nothing is known; after it, every contact is in sync."""
    account = board.account("acct-1", drift_policy="correct", suspended=False)
    account.manifests_loaded(contacts=["jane", "joe"], revision=None)
    assert account.state is AccountState.PROGRESSING
    assert condition(account, ConditionType.READY) == ("False", "Progressing")
    assert condition(account, ConditionType.SYNCED) == ("Unknown", "Progressing")
    account.applied([("jane", "created", "", "people/1"), ("joe", "unchanged", "", None)], set())
    account.pass_finished("success", {"created": 1})
    account.full_pass_done()
    assert account.state is AccountState.IN_SYNC
    assert condition(account, ConditionType.READY) == ("True", "Reconciled")
    assert condition(account, ConditionType.SYNCED) == ("True", "InSync")
    assert account.to_json()["revision"] is None


def test_the_transition_time_moves_only_when_the_status_flips(
    board: StatusBoard, wall: Wall
) -> None:
    """A refreshed message keeps lastTransitionTime; a flip stamps the clock's time."""
    account = reconciled(board, "jane")
    synced_at = account.conditions[ConditionType.SYNCED].last_transition_time
    wall.advance(60)
    account.pass_finished("success", {"unchanged": 1})
    assert account.conditions[ConditionType.SYNCED].last_transition_time == synced_at
    wall.advance(60)
    account.drift_checked({"jane": "names"}, ["jane"])
    flipped = account.conditions[ConditionType.SYNCED]
    assert (flipped.status, flipped.last_transition_time) == (
        Status.FALSE,
        START + timedelta(seconds=120),
    )
    assert flipped.to_json()["lastTransitionTime"] == "2026-01-02T03:06:05Z"


def test_drift_under_report_makes_the_account_out_of_sync_until_it_matches_again(
    board: StatusBoard, events: list[Event]
) -> None:
    """A plan-only pass that finds a contact changed marks it drifted; a later check that finds
    it matching clears it, and each transition is told once."""
    account = reconciled(board, "jane", "joe", policy="report")
    account.drift_checked({"jane": "names"}, ["jane"])
    account.drift_checked({"jane": "names"}, None)
    assert account.state is AccountState.OUT_OF_SYNC
    assert condition(account, ConditionType.DRIFTED) == ("True", "DriftDetected")
    assert account.counts()["drifted"] == 1
    jane = account.to_json(contacts=True)["contacts"][0]
    assert (jane["key"], jane["conditions"][1]["reason"]) == ("jane", "Drifted")
    account.drift_checked({}, ["jane"])
    assert account.state is AccountState.IN_SYNC
    assert [(e.kind, e.key) for e in told(events)] == [
        (EventKind.DRIFT_DETECTED, "jane"),
        (EventKind.DRIFT_CORRECTED, "jane"),
    ]


def test_a_corrected_live_change_is_told_as_drift_corrected(
    board: StatusBoard, events: list[Event]
) -> None:
    """Under correct, a live-triggered contact that had to be written was drift, now fixed."""
    account = reconciled(board, "jane")
    account.applied([("jane", "updated", "", "people/jane")], live={"jane"})
    assert [(e.kind, e.key, e.revision) for e in told(events)] == [
        (EventKind.DRIFT_CORRECTED, "jane", "abc123")
    ]
    assert account.state is AccountState.IN_SYNC
    assert condition(account, ConditionType.DRIFTED) == ("False", "NoDrift")


def test_conflicts_carry_their_next_attempt_and_stall_after_repeated_retries(
    board: StatusBoard, wall: Wall, events: list[Event]
) -> None:
    """A contact in conflict shows when it is tried next; still in conflict after several
    requeues it is stalled, once."""
    account = reconciled(board, "jane", "joe")
    account.applied([("jane", "conflict", "etag changed", "people/jane")], live=set())
    account.queued("jane", 4.0, "conflict", retries=1)
    assert account.state is AccountState.OUT_OF_SYNC
    assert account.conflicts() == [
        {
            "key": "jane",
            "nextAttempt": "2026-01-02T03:04:09Z",
            "retries": 1,
            "message": "etag changed",
        }
    ]
    for _ in range(2):
        account.applied([("jane", "conflict", "etag changed", None)], live=set())
    assert not told(events)
    account.queued("jane", 8.0, "conflict", retries=STALL_AFTER)
    account.applied([("jane", "conflict", "etag changed", None)], live=set())
    account.applied([("jane", "conflict", "etag changed", None)], live=set())
    assert [(e.kind, e.key) for e in told(events)] == [(EventKind.CONTACT_STALLED, "jane")]
    assert account.state is AccountState.STALLED
    assert condition(account, ConditionType.STALLED) == ("True", "ConflictRepeated")


def test_queued_keys_keep_their_earliest_attempt_and_leave_when_a_pass_takes_them(
    board: StatusBoard, wall: Wall
) -> None:
    """As in the work queue, an earlier pending attempt wins; a pass taking the key clears it."""
    account = reconciled(board, "jane")
    account.queued("jane", 10.0, "retry")
    account.queued("jane", 30.0, "live")
    assert [w["nextAttempt"] for w in account.to_json()["queued"]] == ["2026-01-02T03:04:15Z"]
    account.pass_started(["jane"], ["retry"])
    assert account.to_json()["queued"] == []
    assert account.to_json()["passInFlight"]["triggers"] == ["retry"]


def test_broken_manifests_stall_the_account_and_are_told_when_broken_and_fixed(
    board: StatusBoard, events: list[Event]
) -> None:
    account = reconciled(board, "jane")
    account.manifests_loaded(errors=["m.yaml:1:1: bad"], revision="def456")
    account.manifests_loaded(errors=["m.yaml:1:1: bad"], revision="def456")
    assert account.state is AccountState.STALLED
    assert condition(account, ConditionType.READY) == ("False", "ManifestsInvalid")
    account.manifests_loaded(contacts=["jane"], revision="0a0b0c")
    assert account.state is AccountState.IN_SYNC
    assert [(e.kind, e.revision) for e in told(events)] == [
        (EventKind.MANIFESTS_BROKEN, "abc123"),
        (EventKind.MANIFESTS_FIXED, "0a0b0c"),
    ]


def test_a_failed_pass_is_told_once_until_a_pass_succeeds(
    board: StatusBoard, events: list[Event]
) -> None:
    account = reconciled(board, "jane")
    account.pass_finished("error", {}, "reading live state failed: 503")
    account.pass_finished("error", {}, "reading live state failed: 503")
    assert account.state is AccountState.FAILED
    assert condition(account, ConditionType.READY) == ("False", "PassFailed")
    account.pass_finished("success", {})
    account.pass_finished("error", {}, "again")
    assert [e.kind for e in told(events)] == [EventKind.PASS_FAILED, EventKind.PASS_FAILED]


def kept_plan(*kept: tuple[str, Kept, str]) -> Plan:
    """A plan keeping orphans ``(key, why, reason)``."""
    items = tuple(
        PlanItem(Kind.CONTACT, Action.NOOP, key, reason, orphan=True, kept=why)
        for key, why, reason in kept
    )
    return Plan(owner="o", items=items, waves=(), prune=True)


def test_withheld_deletes_are_told_by_the_plans_marker_never_its_wording() -> None:
    """Only the structured marker makes a withheld delete: a reworded reason (any language)
    still counts, and a reason that merely reads like one does not."""
    plan = kept_plan(
        ("reworded", Kept.WITHHELD, "Löschung zurückgehalten: Auflistung unvollständig"),
        ("lookalike", Kept.PRUNING_OFF, "deletion withheld (just the words)"),
    )
    withheld, orphans = kept_deletions(plan)
    assert withheld == {"reworded": "Löschung zurückgehalten: Auflistung unvollständig"}
    assert orphans == ["reworded", "lookalike"]


def test_withheld_deletes_and_orphans_come_from_the_plans_kept_items(
    board: StatusBoard, events: list[Event]
) -> None:
    """Kept contacts whose manifest is gone are orphans; those held back by the guards are
    withheld deletes, which stall the account until a plan deletes or keeps them."""

    plan = kept_plan(
        ("gone", Kept.WITHHELD, "deletion withheld: loading manifests or listing was incomplete"),
        ("kept", Kept.PROTECTED, 'protected by reconciler/prune: "false"'),
    )
    withheld, orphans = kept_deletions(plan)
    assert (list(withheld), orphans) == (["gone"], ["gone", "kept"])
    account = reconciled(board, "jane")
    account.deletions(withheld=withheld, orphans=orphans)
    account.deletions(withheld=withheld, orphans=orphans)
    assert account.state is AccountState.STALLED
    assert condition(account, ConditionType.STALLED) == ("True", "DeletesWithheld")
    assert [e.kind for e in told(events)] == [EventKind.DELETES_WITHHELD]
    account.deletions(withheld={}, orphans=[])
    assert account.state is AccountState.IN_SYNC


def test_a_suspended_account_is_settled_and_its_board_summary_counts_it_in_sync(
    board: StatusBoard,
) -> None:
    board.account("acct-2", drift_policy="correct", suspended=True)
    reconciled(board, "jane").drift_checked({"jane": "names"}, None)
    summary = board.to_json()["summary"]
    assert summary == {
        "accounts": 2,
        "inSync": 1,
        "outOfSync": 1,
        "byState": {"OutOfSync": 1, "Suspended": 1},
    }


def test_a_revision_is_pending_when_loaded_and_applied_once_every_contact_matches(
    board: StatusBoard, events: list[Event]
) -> None:
    """The progress a commit status shows: pending, then applied once (not at every pass)."""
    account = reconciled(board, "jane")
    account.manifests_loaded(contacts=["jane"], revision="def456")
    account.applied([("jane", "conflict", "etag changed", None)], live=set())
    account.applied([("jane", "updated", "", None)], live=set())
    account.applied([("jane", "unchanged", "", None)], live=set())
    assert [(e.kind, e.revision, e.outcome) for e in events] == [
        (EventKind.REVISION_PENDING, "abc123", "pending"),
        (EventKind.REVISION_APPLIED, "abc123", "success"),
        (EventKind.REVISION_PENDING, "def456", "pending"),
        (EventKind.REVISION_APPLIED, "def456", "success"),
    ]


def test_a_pass_over_many_contacts_builds_each_shared_condition_once(
    board: StatusBoard, wall: Wall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading 1,000 contacts and recording a pass that created them all makes a handful of
    conditions, not four per contact: contacts in the same state move the same way, and this
    bookkeeping runs on the event loop after every pass (at 100 x 1,000 it was the loop's
    largest share while passes finished). Each contact still ends with its own four."""
    made: list[str] = []
    real = conditions_module._shared

    def counting(condition: Condition) -> Condition:
        made.append(condition.reason)
        return real(condition)

    monkeypatch.setattr(conditions_module, "_shared", counting)
    names = [f"c{i}" for i in range(1000)]
    account = board.account("acct-1", drift_policy="correct", suspended=False)
    account.manifests_loaded(contacts=names, revision="abc123")
    account.pass_started(["*"], ["start"])
    wall.advance(1)
    account.applied([(n, "created", "", f"people/{n}") for n in names], live=set())
    assert len(made) <= 2 * len(ConditionType)
    for name in ("c0", "c999"):
        contact = account.contacts[name].conditions
        assert contact[ConditionType.READY].status is Status.TRUE
        assert contact[ConditionType.READY].last_transition_time == START + timedelta(seconds=1)
        assert contact[ConditionType.DRIFTED].reason == "NoDrift"
