"""One account's loop: outcomes become queue operations, drift policies, suspend, broken manifests.

The apply layer is replaced by a recording backend here (the loop's decisions are the subject);
the end-to-end tests run the same loop against the real engine and emulator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog
import structlog.testing

from reconciler.apply.lease import LeaseHeld
from reconciler.apply.lease_record import LeaseRecord
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome
from reconciler.controller.account import FULL, AccountWorker, Intervals, Trigger
from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.desired import DesiredStore
from reconciler.controller.drift import DriftDamper
from reconciler.controller.health import Health
from reconciler.controller.metrics import Metrics
from reconciler.controller.slots import PassSlots
from reconciler.model import DesiredState
from reconciler.plan.model import Action, Kept, Kind, Plan, PlanItem
from tests.support.backends import Backend
from tests.support.eventually import LIMIT, eventually_async
from tests.support.manifests import contact

ACCOUNT = "alice@example.com"
LABEL = Account(ACCOUNT, (), "o", suspend=False, drift_policy=DriftPolicy.CORRECT).label


class Manifests:
    """A loader whose answer the test sets: contacts, or errors."""

    def __init__(self, *names: str) -> None:
        self.contacts = [contact(n) for n in names]
        self.errors: list[str] = []
        self.revision: str | None = None

    def __call__(self, paths: Iterable[Path]) -> SimpleNamespace:
        return SimpleNamespace(
            contacts=list(self.contacts),
            groups=[],
            errors=list(self.errors),
            ok=not self.errors,
            revision=self.revision,
        )


def result(**outcomes: Outcome | tuple[Outcome, float]) -> ApplyResult:
    """An apply's answer; ``(outcome, at)`` gives a retry time, in seconds on the test clock."""
    answer = ApplyResult()
    for key, outcome in outcomes.items():
        retry_at = None
        if isinstance(outcome, tuple):
            outcome, at = outcome
            retry_at = datetime.fromtimestamp(at, UTC)
        answer.record(ObjectResult("contact", key, outcome, retry_at=retry_at))
    return answer


async def inline(work: Callable[[], Any]) -> Any:
    """Reload on the loop, so that ``clock.run_ready()`` sees every step (no thread to wait for)."""
    return work()


class Harness:
    def __init__(
        self,
        clock: Any,
        policy: DriftPolicy,
        suspend: bool,
        names: tuple[str, ...],
        slots: PassSlots | None = None,
    ):
        self.clock = clock
        self.manifests = Manifests(*names)
        self.backend = Backend()
        self.metrics = Metrics()
        self.health = Health(clock=clock)
        account = Account(ACCOUNT, (Path("m"),), "o", suspend=suspend, drift_policy=policy)
        self.worker = AccountWorker(
            account,
            self.backend,
            poller=None,
            store=DesiredStore(account.manifests, loader=self.manifests),
            metrics=self.metrics,
            health=self.health,
            intervals=Intervals(poll=5, resync=3600, debounce=0.1),
            clock=clock,
            offload=inline,
            slots=slots,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.worker.run())
        await self.clock.run_ready()

    def sample(self, metric: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(metric, labels)
        return 0.0 if value is None else value


@pytest.fixture
async def make(clock: Any) -> AsyncIterator[Any]:
    harnesses: list[Harness] = []

    def build(
        policy: DriftPolicy = DriftPolicy.CORRECT,
        suspend: bool = False,
        names: tuple[str, ...] = ("a", "b"),
        slots: PassSlots | None = None,
    ) -> Harness:
        harness = Harness(clock, policy, suspend, names, slots)
        harnesses.append(harness)
        return harness

    yield build
    for harness in harnesses:
        harness.worker.shut_down()
        if harness.task is not None:
            harness.task.cancel()
            await asyncio.gather(harness.task, return_exceptions=True)


async def test_start_is_one_full_pass_and_makes_the_account_ready(make: Any) -> None:
    """A restart is just a full pass: desired state loaded, applied once, account ready."""
    h = make()
    await h.start()
    assert len(h.backend.applied) == 1
    assert [c.name for c in h.backend.applied[0][0].contacts] == ["a", "b"]
    assert h.health.readiness() == (True, "ok")
    assert h.sample("reconciler_reconcile_total", account=LABEL, result="success") == 1
    assert h.sample("reconciler_ready", account=LABEL) == 1


async def test_a_conflict_is_requeued_with_growing_backoff_then_forgotten(make: Any) -> None:
    """A key left in conflict comes back after 1 s, then 2 s; success resets its backoff."""
    h = make()
    h.backend.answers = [
        result(a=Outcome.CONFLICT, b=Outcome.UPDATED),
        result(a=Outcome.CONFLICT),
        result(a=Outcome.UPDATED),
    ]
    await h.start()
    assert h.worker.queue.num_requeues("a") == 1
    assert h.sample("reconciler_conflicts_total", account=LABEL) == 1
    h.clock.advance(0.9)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 1
    h.clock.advance(0.1)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2
    assert h.worker.queue.num_requeues("a") == 2
    h.clock.advance(1.9)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2
    h.clock.advance(0.1)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 3
    assert h.worker.queue.num_requeues("a") == 0
    assert h.sample("reconciler_workqueue_retries_total", name=LABEL) == 2
    assert h.sample("reconciler_reconcile_total", account=LABEL, result="requeue") == 2


async def test_a_retry_waits_at_least_until_the_engines_retry_time(make: Any) -> None:
    """A pending create with a retry time 20 s away is not retried after the 1 s floor; the
    retry time is read on the worker's injected clock, never the wall clock."""
    h = make()
    h.backend.answers = [result(a=(Outcome.PENDING, h.clock.now() + 20.0))]
    await h.start()
    h.clock.advance(5)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 1
    h.clock.advance(16)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2


async def test_a_failed_pass_is_retried_with_backoff(make: Any) -> None:
    """An exception in a pass counts as an error and the batch comes back after backoff."""
    h = make()
    h.backend.answers = [RuntimeError("listing failed")]
    await h.start()
    assert h.sample("reconciler_reconcile_errors_total", account=LABEL) == 1
    assert h.health.readiness()[0] is False
    h.clock.advance(1)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2
    assert h.health.readiness() == (True, "ok")


async def test_a_pass_kept_from_writing_by_another_writers_lease_waits_without_backoff(
    make: Any,
) -> None:
    """Another writer holds the account's lease: the pass is no failure; the status names the
    holder and its expiry, readiness does too once the wait outlasts its grace, and the keys
    come back by the holder's expiry however often it happens (no growing backoff); once the
    lease is free the account converges and is ready."""
    h = make()
    record = LeaseRecord("beef", "apply (owner o) by ci@runner-7 pid 42", "ci", time.time() + 10)
    h.backend.answers = [LeaseHeld(record, 0.0), LeaseHeld(record, 0.0)]
    await h.start()
    assert h.sample("reconciler_reconcile_total", account=LABEL, result="waiting") == 1
    assert h.sample("reconciler_reconcile_errors_total", account=LABEL) == 0
    ready = h.worker.status.to_json()["conditions"]
    waiting = next(c for c in ready if c["type"] == "Ready")
    assert waiting["reason"] == "WaitingForLease"
    assert "ci@runner-7" in waiting["message"]
    assert not any("ci@runner-7" in r for r in h.health.reasons(LABEL))  # within the grace
    h.health.lease_grace = 0.0
    assert any("ci@runner-7 pid 42 until" in r for r in h.health.reasons(LABEL))
    for _ in range(2):
        h.clock.advance(4)  # before the holder's expiry (and the poll of 5 s): no pass yet
        await h.clock.run_ready()
        assert len(h.backend.applied) == 1 + (_ == 1)
        h.clock.advance(7)
        await h.clock.run_ready()
    assert len(h.backend.applied) == 3
    assert h.worker.queue.num_requeues(FULL) == 0
    assert h.health.readiness() == (True, "ok")


async def test_a_broken_manifest_writes_nothing_until_fixed(make: Any) -> None:
    """After a bad edit no pass writes; the error is exported; fixing it converges again."""
    h = make()
    await h.start()
    h.manifests.errors = ["m/a.yaml:3:5: unknown field 'emial'"]
    h.worker.manifests_changed()
    await h.clock.run_ready()
    h.worker.enqueue(FULL, Trigger.RESYNC)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 1
    assert h.sample("reconciler_manifest_errors", account=LABEL) == 1
    assert h.sample("reconciler_reconcile_total", account=LABEL, result="skipped") == 2
    assert h.worker.store.loaded  # the last good load's fingerprints are kept ...
    assert h.worker.store.broken  # ... and nothing is applied until the tree is fixed
    h.manifests.errors = []
    h.manifests.contacts.append(contact("c"))
    h.worker.manifests_changed()
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2
    assert [c.name for c in h.backend.applied[-1][0].contacts] == ["a", "b", "c"]
    assert h.sample("reconciler_manifest_errors", account=LABEL) == 0


async def test_a_broken_first_load_is_never_ready(make: Any) -> None:
    """With no good manifests ever loaded there is nothing to apply and readiness says so."""
    h = make()
    h.manifests.errors = ["m/a.yaml:1:1: not valid YAML"]
    await h.start()
    assert h.backend.applied == []
    assert h.health.readiness()[0] is False


async def test_correct_policy_writes_drift_back_and_damps_a_fighting_writer(make: Any) -> None:
    """A live change that had to be written back counts as drift; repeated drift is delayed."""
    h = make()
    await h.start()
    h.backend.answers = [result(a=Outcome.UPDATED), result(a=Outcome.UPDATED)]
    h.worker.enqueue("a", Trigger.LIVE)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2
    assert h.sample("reconciler_drift_detected_total", account=LABEL, policy="correct") == 1
    assert h.worker.damper.delay("a") == 1.0
    h.worker.enqueue("a", Trigger.LIVE, h.worker.damper.delay("a"))
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2
    h.clock.advance(1)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 3
    assert h.worker.damper.delay("a") == 2.0


async def test_our_own_write_echoing_back_is_not_drift(make: Any) -> None:
    """A live change the pass finds already converged is not counted as drift."""
    h = make()
    await h.start()
    h.worker.enqueue("a", Trigger.LIVE)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2
    assert h.sample("reconciler_drift_detected_total", account=LABEL, policy="correct") == 0


async def test_report_policy_plans_live_changes_and_writes_nothing(make: Any) -> None:
    """Under report, a live change is planned, the drift is counted, and nothing is applied."""
    h = make(policy=DriftPolicy.REPORT)
    await h.start()
    h.backend.plan_items = [
        PlanItem(Kind.CONTACT, Action.NOOP, "a", "drift reported", drift=("names",))
    ]
    h.worker.enqueue("a", Trigger.LIVE)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 1  # only the start pass
    assert len(h.backend.planned) == 1
    assert h.sample("reconciler_drift_detected_total", account=LABEL, policy="report") == 1
    h.manifests.contacts.append(contact("c"))
    h.worker.manifests_changed()
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2  # manifest changes are still applied


async def test_a_manifest_edit_queues_only_the_contacts_that_changed(make: Any) -> None:
    """Editing one manifest queues that contact's key, not a pass over the whole account."""
    h = make()
    await h.start()
    h.manifests.contacts[0] = contact("a", annotations={"note": "edited"})
    with structlog.testing.capture_logs() as logs:
        h.worker.manifests_changed()
        await h.clock.run_ready()
    (finished,) = [e for e in logs if e["event"] == "pass finished"]
    assert finished["keys"] == 1
    assert finished["triggers"] == ["manifest"]
    assert len(h.backend.applied) == 2


async def test_an_edits_pass_takes_the_pacers_tokens_before_converging_accounts(
    make: Any,
) -> None:
    """A start pass is paced like every converging account's; the pass an edit brings runs
    urgent (its calls go before theirs), and only while it runs."""
    h = make()
    await h.start()
    h.manifests.contacts[0] = contact("a", annotations={"note": "edited"})
    h.worker.manifests_changed()
    await h.clock.run_ready()
    assert h.backend.urgency == [False, True]
    assert h.backend.urgent is False


async def test_an_unchanged_tree_queues_nothing(make: Any) -> None:
    """A watcher event that changed no manifest (a comment, a touch) costs no pass."""
    h = make()
    await h.start()
    h.worker.manifests_changed()
    await h.clock.run_ready()
    assert len(h.backend.applied) == 1


async def test_a_failed_report_pass_is_retried_as_a_report_pass(make: Any) -> None:
    """Under report, a plan-only pass that failed comes back plan-only: a retry never writes."""
    h = make(policy=DriftPolicy.REPORT)
    await h.start()

    async def failing_plan(
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Plan:
        h.backend.planned.append(desired)
        if len(h.backend.planned) == 1:
            raise RuntimeError("listing failed")
        return Plan(owner="o", items=(), waves=())

    h.backend.plan = failing_plan  # type: ignore[method-assign]
    h.worker.enqueue("a", Trigger.LIVE)
    await h.clock.run_ready()
    h.clock.advance(1)
    await h.clock.run_ready()
    assert len(h.backend.planned) == 2
    assert len(h.backend.applied) == 1  # only the start pass


async def test_a_suspended_account_writes_nothing_but_is_ready(make: Any) -> None:
    """Account-level suspend: passes are skipped, the account reports ready and suspended."""
    h = make(suspend=True)
    await h.start()
    h.worker.manifests_changed()
    await h.clock.run_ready()
    assert h.backend.applied == []
    assert h.health.readiness() == (True, "ok")
    assert h.sample("reconciler_suspended", account=LABEL) == 1


async def test_a_suspended_contact_is_left_out_and_protected(make: Any) -> None:
    """Contact-level suspend: the contact is not desired and the backend is told to protect
    its live copy."""
    h = make(names=())
    h.manifests.contacts = [contact("a"), contact("b", annotations={"reconciler/suspend": "true"})]
    await h.start()
    desired, suspended = h.backend.applied[0]
    assert [c.name for c in desired.contacts] == ["a"]
    assert suspended == {"b"}


async def test_shutdown_lets_the_pass_in_flight_finish(make: Any) -> None:
    """shut_down() during a pass: the pass completes, no new pass starts, run() returns."""
    h = make()
    h.backend.gate = asyncio.Event()
    await h.start()
    await asyncio.wait_for(h.backend.entered.wait(), LIMIT)
    h.worker.enqueue("a", Trigger.LIVE)
    h.worker.shut_down()
    await h.clock.run_ready()
    assert h.task is not None
    assert not h.task.done()
    h.backend.gate.set()
    await asyncio.wait_for(h.task, LIMIT)
    assert len(h.backend.applied) == 1
    assert h.sample("reconciler_reconcile_total", account=LABEL, result="success") == 1


def test_the_drift_damper_forgets_after_a_quiet_window(clock: Any) -> None:
    """Delays double per repeated drift and reset once a contact stays quiet long enough."""
    damper = DriftDamper(clock, base=1.0, cap=8.0)
    assert damper.delay("a") == 0.0
    for expected in (1.0, 2.0, 4.0, 8.0, 8.0):
        damper.corrected("a")
        assert damper.delay("a") == expected
    clock.advance(16)
    assert damper.delay("a") == 0.0
    damper.corrected("a")
    assert damper.delay("a") == 1.0


async def test_manifests_load_off_the_event_loop_and_are_released_after_the_pass(
    clock: Any,
) -> None:
    """While a reload parses the manifests the event loop keeps serving other work (the probes,
    other accounts); after the pass only fingerprints remain, not the loaded models."""
    import threading

    gate = threading.Event()
    manifests = Manifests("a", "b")

    def slow_loader(paths: Iterable[Path]) -> SimpleNamespace:
        # Blocks until the loop, running meanwhile, opens the gate (bounded, so that a loader
        # run on the loop itself fails the test instead of hanging it).
        assert gate.wait(30), "the event loop did not run while the manifests were loading"
        return manifests(paths)

    backend = Backend()
    account = Account(ACCOUNT, (Path("m"),), "o", suspend=False, drift_policy=DriftPolicy.CORRECT)
    worker = AccountWorker(
        account,
        backend,
        poller=None,
        store=DesiredStore(account.manifests, loader=slow_loader),
        metrics=Metrics(),
        health=Health(clock=clock),
        intervals=Intervals(poll=5, resync=3600, debounce=0.1),
        clock=clock,
    )
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0)  # the loop turns while the loader waits on its thread
        gate.set()
        await asyncio.wait_for(backend.entered.wait(), 30)

        async def released() -> bool:
            return worker.store.state is None

        await eventually_async(released, "the pass to release the loaded models")
        assert [c.name for c in backend.applied[0][0].contacts] == ["a", "b"]
        assert worker.store.state is None
        assert worker.store.loaded
    finally:
        worker.shut_down()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_accounts_sharing_pass_slots_take_turns_in_arrival_order(clock: Any) -> None:
    """With one slot for two accounts, the second account's pass starts only when the first
    one's has finished: a replica bounds the passes in flight, whatever the accounts."""
    slots = PassSlots(1)
    backends = [Backend(), Backend()]
    backends[0].gate = asyncio.Event()
    workers = []
    for i, backend in enumerate(backends):
        account = Account(
            f"user{i}@example.com",
            (Path("m"),),
            "o",
            suspend=False,
            drift_policy=DriftPolicy.CORRECT,
        )
        workers.append(
            AccountWorker(
                account,
                backend,
                poller=None,
                store=DesiredStore(account.manifests, loader=Manifests("a")),
                metrics=Metrics(),
                health=Health(clock=clock),
                intervals=Intervals(poll=5, resync=3600, debounce=0.1),
                clock=clock,
                offload=inline,
                slots=slots,
            )
        )
    first = asyncio.create_task(workers[0].run())
    await backends[0].entered.wait()
    second = asyncio.create_task(workers[1].run())
    try:
        await clock.run_ready()
        assert backends[1].applied == []  # waiting for the slot the first pass holds
        backends[0].gate.set()
        await asyncio.wait_for(backends[1].entered.wait(), 30)
        assert len(backends[1].applied) == 1
    finally:
        for worker in workers:
            worker.shut_down()
        for task in (first, second):
            task.cancel()
        await asyncio.gather(first, second, return_exceptions=True)


async def test_the_status_shows_a_conflict_with_its_next_attempt_until_it_converges(
    make: Any, clock: Any
) -> None:
    """The account loop feeds the status model: a contact left in conflict is out of sync with
    a next attempt; once a retry converges it the account is in sync again."""
    h = make()
    h.backend.answers = [result(a=Outcome.CONFLICT, b=Outcome.UPDATED), result(a=Outcome.UPDATED)]
    await h.start()
    status = h.worker.status.to_json(contacts=True)
    assert status["state"] == "OutOfSync"
    [conflict] = status["conflicts"]
    assert (conflict["key"], conflict["retries"]) == ("a", 1)
    assert conflict["nextAttempt"] is not None
    assert [w["key"] for w in status["queued"]] == ["a"]
    clock.advance(1.0)
    await clock.run_ready()
    status = h.worker.status.to_json()
    assert (status["state"], status["conflicts"], status["queued"]) == ("InSync", [], [])
    assert status["lastPass"]["triggers"] == ["retry"]


async def test_the_status_lists_orphans_and_withheld_deletes_of_a_full_pass(make: Any) -> None:
    """Kept contacts whose manifest is gone, as the full pass's plan lists them."""
    h = make()
    h.backend.plan_items = [
        PlanItem(
            Kind.CONTACT,
            Action.NOOP,
            "gone",
            "any wording at all",
            orphan=True,
            kept=Kept.WITHHELD,
        )
    ]
    await h.start()
    status = h.worker.status.to_json()
    assert status["orphans"] == ["gone"]
    assert [w["key"] for w in status["withheldDeletes"]] == ["gone"]
    assert status["state"] == "Stalled"


async def test_a_refused_full_pass_stalls_the_account_whatever_the_refusal_says(
    make: Any,
) -> None:
    """A guard's refusal reaches the status as the result's typed ``refused``, not by matching
    its text: reworded, it still stalls the account."""
    h = make()
    refused = ApplyResult(errors=["Löschen verweigert: zu viele"], refused="Löschen verweigert")
    h.backend.answers = [refused]
    await h.start()
    status = h.worker.status.to_json()
    assert status["state"] == "Stalled"
    stalled = [c for c in status["conditions"] if c["type"] == "Stalled"]
    assert [(c["status"], c["reason"]) for c in stalled] == [("True", "DeletesRefused")]


async def test_an_error_that_reads_like_a_refusal_is_not_one(make: Any) -> None:
    """An untyped error worded like a guard's refusal is a failed pass, not a refused delete."""
    h = make()
    h.backend.answers = [ApplyResult(errors=["refusing to delete 3 of 3 managed contacts"])]
    await h.start()
    status = h.worker.status.to_json()
    reasons = [c["reason"] for c in status["conditions"] if c["type"] == "Stalled"]
    assert "DeletesRefused" not in reasons


async def test_a_pass_that_leaves_many_keys_logs_one_requeued_line(make: Any) -> None:
    """A pass that leaves 50 contacts in conflict or pending logs one "requeued" line with the
    counts by outcome (each key only at debug level), not a line per contact."""
    names = tuple(f"c{n}" for n in range(50))
    h = make(names=names)
    outcomes: dict[str, Any] = dict.fromkeys(names[:30], Outcome.CONFLICT)
    outcomes |= {n: (Outcome.PENDING, h.clock.now() + 20.0) for n in names[30:]}
    h.backend.answers = [result(**outcomes)]
    with structlog.testing.capture_logs() as logs:
        await h.start()
    lines = [e for e in logs if e["event"] == "requeued" and e["log_level"] == "info"]
    assert len(lines) == 1
    assert lines[0]["requeued"] == 50
    assert lines[0]["outcomes"] == {"conflict": 30, "pending": 20}
    assert lines[0]["first_retry"] == 1.0
    assert lines[0]["last_retry"] == 20.0
    per_key = [e for e in logs if e["event"] == "requeued" and e["log_level"] == "debug"]
    assert sorted(e["key"] for e in per_key) == sorted(names)
    assert h.worker.queue.delayed == 50


async def test_an_edit_promotes_the_accounts_own_start_pass_waiting_for_a_slot(make: Any) -> None:
    """With the replica's only slot taken and another account's start pass waiting, an account
    whose own start pass waits too gets an edit: its waiting pass goes first (it re-reads the
    manifests), not after every first pass queued before it."""
    slots = PassSlots(1)
    order: list[str] = []
    release = asyncio.Event()

    async def other(name: str, wait: asyncio.Event | None = None) -> None:
        async with slots.hold():
            order.append(name)
            if wait is not None:
                await wait.wait()

    running = asyncio.create_task(other("running", release))
    await eventually_async(lambda: order == ["running"], "the first pass to hold the slot")
    waiting = asyncio.create_task(other("other-start"))
    await eventually_async(lambda: slots.waiting == 1, "another account's start pass to wait")
    h = make(slots=slots)
    await h.start()
    assert slots.waiting == 2
    h.worker.enqueue("a", Trigger.MANIFEST)
    h.backend.gate = asyncio.Event()  # the edited account's pass holds the slot until opened
    release.set()
    await eventually_async(lambda: h.backend.entered.is_set() or waiting.done(), "a pass")
    assert h.backend.entered.is_set()
    assert order == ["running"]  # the other account's start pass still waits
    h.backend.gate.set()
    await asyncio.gather(running, waiting)
    assert order == ["running", "other-start"]


async def test_the_revision_counts_as_applied_once_what_a_full_pass_left_converges(
    make: Any,
) -> None:
    """A first pass that leaves one create pending and one contact in conflict is not the
    revision applied yet; once both converge on their retries it is, without waiting for the
    next full pass (the resync, an hour away here)."""
    h = make(names=("a", "b", "c"))
    h.manifests.revision = "sha256:" + "1" * 64
    applied = "reconciler_manifests_revision_applied_info"
    labels = {"account": LABEL, "revision": h.manifests.revision}
    h.backend.answers = [
        result(a=(Outcome.PENDING, h.clock.now() + 5.0), b=Outcome.CONFLICT, c=Outcome.CREATED),
        result(b=Outcome.UPDATED),
        result(a=Outcome.CREATED),
    ]
    await h.start()
    assert h.health.readiness() == (True, "ok")
    assert h.sample(applied, **labels) == 0
    h.clock.advance(1)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 2  # b's retry
    assert h.sample(applied, **labels) == 0  # a is still pending
    h.clock.advance(4)
    await h.clock.run_ready()
    assert len(h.backend.applied) == 3  # a's retry, no full pass
    assert h.sample(applied, **labels) == 1
    assert h.worker.status.state == "InSync"
