"""One account's reconcile loop: work sources feed a queue, one worker drains it in passes.

Sources (each only adds keys; none writes):

- start: one full pass (a restart is just a full pass, nothing is remembered across runs);
- manifests: the watcher's callback re-reads them and queues the contacts that changed (or a
  full pass when keys cannot say what changed);
- resync: a full pass every ``resync`` seconds, jittered so replicas and accounts spread out;
- live: incremental polls turn out-of-band changes into contact keys (not under ``ignore``);
  the replica's one :class:`~reconciler.controller.pollschedule.PollSchedule` says when, and
  the sync token they start from is the one the account's last full pass listed with;
- retries: what a pass left in conflict, pending or failed comes back after its backoff.

The worker is the account's only writer (Google asks for one writer per account). It takes every
ready key at once and runs one pass for all of them. Each pass re-reads the live state (only
its contacts, by name, when they are all known; see ``scope``); the desired state is re-read on
start, on resync and after a manifest change. Outcomes become queue operations in one place
(:meth:`AccountWorker._enqueue_outcomes`): converged -> forget the backoff; conflict, pending or
failed -> requeue with per-key backoff (no sooner than the engine's retry time).

Drift: under ``correct`` a live-triggered key that the pass had to write was drift, and is
counted; a key that drifts again soon after is corrected with growing delays, so two writers
never loop hot. Under ``report`` live and resync passes only plan, and report the changes the
plan labels drift; the planner keeps drift out of every write under ``report`` and ``ignore``
(start and manifest passes too), so only intent is ever written, and a writing pass under
``report`` reports the drift it left in place.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog

from reconciler.apply.engine import Steering
from reconciler.apply.lease import LeaseError
from reconciler.apply.planner import in_planner
from reconciler.apply.results import ApplyResult, Outcome
from reconciler.clock import Clock, SystemClock
from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.desired import DesiredStore, Loaded
from reconciler.controller.drift import DriftDamper
from reconciler.controller.gil import pass_settled
from reconciler.controller.health import Health
from reconciler.controller.leasing import LEASE_RECHECK, lease_wait
from reconciler.controller.metrics import Metrics
from reconciler.controller.polling import LivePoller
from reconciler.controller.pollschedule import PollSchedule
from reconciler.controller.slots import PassSlots, Ticket
from reconciler.controller.status import AccountStatus, StatusBoard, kept_deletions
from reconciler.controller.watching import ReplicaWatcher
from reconciler.model import DesiredState
from reconciler.plan.model import Kind, Plan
from reconciler.queue import ExponentialBackoff, WorkQueue

__all__ = ["FULL", "AccountWorker", "Intervals", "PassBackend", "Trigger"]

FULL = "*"
"""The key of a pass over the whole account."""

_WRITTEN = (Outcome.CREATED, Outcome.UPDATED, Outcome.ADOPTED, Outcome.DELETED)


class Trigger(StrEnum):
    START = "start"
    MANIFEST = "manifest"
    RESYNC = "resync"
    LIVE = "live"
    RETRY = "retry"


_URGENT = frozenset({Trigger.MANIFEST, Trigger.LIVE})
"""Triggers whose passes go before waiting start, resync and retry passes (see ``slots``)."""


class PassBackend(Protocol):
    """What a pass needs from the apply layer (see ``reconciler.controller.backend``).

    ``withheld_deletes``: contact deletions the last full pass withheld (over the caps), and
    ``withheld_why`` the plan's account of them, naming the override this command offers.
    ``urgent``: set while a pass for an edit or a live change runs, so that its calls take the
    pacer's tokens before those of the accounts that merely converge.
    """

    withheld_deletes: int
    withheld_why: str
    urgent: bool

    @property
    def paced_seconds(self) -> float:
        """Seconds the account's calls have waited for the pacer's tokens so far."""
        ...

    async def apply(
        self,
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        steering: Steering | None = None,
    ) -> ApplyResult: ...

    async def plan(
        self,
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Plan: ...

    def between_passes(self, next_pass_in: float | None) -> None:
        """No pass runs now; the next is due in ``next_pass_in`` seconds (None: none queued)."""


Offload = Callable[[Callable[[], Loaded]], Awaitable[Loaded]]
"""Runs blocking work (a manifest reload) away from the event loop: the planner thread, unless
a test runs it inline."""


async def _in_planner(work: Callable[[], Loaded]) -> Loaded:
    """A reload is CPU work like a plan: it queues in the one planner thread, so the loop
    competes for the GIL with one thread, not with one per account reloading at once."""
    return await in_planner(work)


@dataclass(frozen=True, slots=True)
class Intervals:
    """Seconds between polls (at least: see ``pollschedule``) and resyncs, the watcher's
    debounce, the backoff bounds, and how soon a pass the write lease kept waiting looks again
    (before the holder's expiry: the holder may give the lease back early)."""

    poll: float = 30.0
    resync: float = 600.0
    debounce: float = 2.0
    jitter: float = 0.1  # resync intervals vary by this share either way
    backoff_floor: float = 1.0
    backoff_cap: float = 300.0
    lease_recheck: float = LEASE_RECHECK


class _Requeued:
    """The keys one pass sent back to the queue, for one log line per pass."""

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = {}
        self.delays: list[float] = []

    def add(self, outcome: str, delay: float) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.delays.append(delay)

    def log(self, log: structlog.typing.FilteringBoundLogger) -> None:
        if self.delays:
            log.info(
                "requeued",
                requeued=len(self.delays),
                outcomes=dict(sorted(self.outcomes.items())),
                first_retry=round(min(self.delays), 3),
                last_retry=round(max(self.delays), 3),
            )


class AccountWorker:
    """Sources, queue and the single writer of one account."""

    def __init__(
        self,
        account: Account,
        backend: PassBackend,
        *,
        poller: LivePoller | None,
        store: DesiredStore,
        metrics: Metrics,
        health: Health,
        intervals: Intervals | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        suspended: bool = False,
        watcher: ReplicaWatcher | None = None,
        offload: Offload | None = None,
        slots: PassSlots | None = None,
        status: AccountStatus | None = None,
        polls: PollSchedule | None = None,
    ) -> None:
        self.account = account
        self.backend = backend
        self.poller = poller
        self.store = store
        self.metrics = metrics
        self.health = health
        self.intervals = intervals or Intervals()
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.suspended = suspended or account.suspend
        self.watcher = watcher  # the replica's one watch; None: manifests are not watched
        self.offload: Offload = offload or _in_planner
        # Passes of every account of the replica draw on these slots, so a thousand accounts
        # converging at once hold a bounded working set; edits and live changes go first.
        self.slots = slots or PassSlots(1)
        # The replica's polls come from one schedule; a worker on its own gets one of its own.
        self._own_polls = polls is None
        self.polls = polls or PollSchedule(
            self.intervals.poll, max_wait=self.intervals.resync, slots=self.slots, clock=self.clock
        )
        self._listed_at: float | None = None  # the last listing, full or incremental (clock)
        self.queue: WorkQueue[str] = WorkQueue(
            limiter=ExponentialBackoff(self.intervals.backoff_floor, self.intervals.backoff_cap),
            clock=self.clock,
        )
        self.damper = DriftDamper(self.clock, cap=self.intervals.backoff_cap)
        self.passes = 0
        self.status = status or StatusBoard().account(
            account.label, drift_policy=str(account.drift_policy), suspended=self.suspended
        )
        self._reasons: dict[str, set[Trigger]] = {}
        self._stale = True  # the desired state must be re-read before the next pass
        self._loading = asyncio.Lock()  # one reload at a time (they run in the planner thread)
        self._changes: set[asyncio.Task[None]] = set()  # reloads the watcher asked for
        self._revision: str | None = None  # of the manifests in force, for logs
        self._withheld_count = 0
        self._ready = False
        self._ticket: Ticket | None = None  # this account's pass waiting for (or in) a slot
        self._edited = False  # an edit came after the running pass read the manifests
        self._behind: set[str] | None = None  # what the last full pass left, not converged yet
        self._began = (0.0, 0.0)  # the running pass's start and the tokens waited for by then
        self._log = structlog.get_logger("reconciler.controller").bind(account=account.key)
        self.label = name = account.label  # metrics and probes: no mailbox addresses
        metrics.workqueue_depth.labels(name=name).set_function(lambda: len(self.queue))
        metrics.suspended.labels(account=name).set(1 if self.suspended else 0)
        metrics.ready.labels(account=name).set_function(
            lambda: 1 if health.account_ready(name) else 0
        )
        health.expect(name)

    # -- sources -----------------------------------------------------------------------------

    def enqueue(self, key: str, trigger: Trigger, delay: float = 0.0) -> None:
        """Queue ``key`` (after ``delay`` seconds), remembering why."""
        if self.queue.shutting_down:
            return
        self._reasons.setdefault(key, set()).add(trigger)
        if trigger in _URGENT and self._ticket is not None:
            self.slots.promote(self._ticket)  # the edit cannot run before the waiting pass
            if self._ticket.future is None:  # that pass runs: it and the edit's go first
                self.backend.urgent = True
        self.queue.add_after(key, delay)
        self.status.queued(key, delay, str(trigger), self.queue.num_requeues(key))
        self.metrics.workqueue_adds_total.labels(name=self.label).inc()

    def manifests_changed(self) -> None:
        """The watcher saw the manifests change: re-read them (off the event loop) and queue
        what changed.

        Changed contacts are queued by key, so an edit to one manifest of thousands costs a
        pass over that contact; what keys cannot express (the first load, a group or a
        suspension changed, a broken tree) queues a full pass.
        """
        self._log.info("manifests changed")
        task = asyncio.get_running_loop().create_task(self._manifests_changed())
        self._changes.add(task)
        task.add_done_callback(self._changes.discard)

    async def _manifests_changed(self) -> None:
        loaded = await self._reload(self._log)
        if (
            loaded.ok
            and loaded.changed
            and self._ticket is not None
            and self._ticket.future is None
        ):
            self._edited = True  # the pass running read the manifests before: it stops early
        if loaded.ok and loaded.changed_keys is not None:
            for key in sorted(loaded.changed_keys):
                self.enqueue(key, Trigger.MANIFEST)
            return
        self.enqueue(FULL, Trigger.MANIFEST)

    async def run(self) -> None:
        """Run sources and the worker until :meth:`shut_down`; the in-flight pass finishes."""
        sources: list[asyncio.Task[None]] = [asyncio.create_task(self._resync_loop())]
        if self.watcher is not None:
            self.watcher.register(
                self.account.key,
                self.account.manifests,
                self.manifests_changed,
                seen=lambda: self.store.read,
            )
        polling = self.account.drift_policy is not DriftPolicy.IGNORE and not self.suspended
        if self.poller is not None and polling:
            # No poll before the first pass: its own listing takes the sync token exactly when
            # it reads the book, so no change made after that read can go unseen (gateway.py).
            self.polls.add(self)
            if self._own_polls:
                sources.append(asyncio.create_task(self.polls.run()))
        self.enqueue(FULL, Trigger.START)
        try:
            await self._work()
        finally:
            if self.watcher is not None:
                self.watcher.unregister(self.account.key)
            try:
                await self.polls.remove(self)  # a poll in flight finishes first
            finally:
                for task in [*sources, *self._changes]:
                    task.cancel()
                await asyncio.gather(*sources, *self._changes, return_exceptions=True)

    def shut_down(self) -> None:
        """Stop taking work; the pass in flight finishes and :meth:`run` returns."""
        self.queue.shut_down()

    async def _resync_loop(self) -> None:
        while True:
            spread = 1 + self.intervals.jitter * self.rng.uniform(-1.0, 1.0)
            await self.clock.sleep(self.intervals.resync * spread)
            self.enqueue(FULL, Trigger.RESYNC)

    def listed_ago(self) -> float | None:
        """Seconds since this account's last listing, a pass's own or a poll (the poll
        schedule's clock); ``None`` while there is no sync token to poll from."""
        if self.poller is None or self.poller.token is None or self._listed_at is None:
            return None
        return max(0.0, self.clock.now() - self._listed_at)

    async def poll(self) -> None:
        """One incremental poll, when the replica's poll schedule says: changed keys are
        queued as live changes, an expired token queues a full pass (whose listing takes a
        fresh one)."""
        assert self.poller is not None
        try:
            found = await self.poller.poll()
        except Exception as error:  # the next poll tries again; the resync is the net
            self.metrics.polls_total.labels(account=self.label, result="error").inc()
            self._log.warning("poll failed", error=f"{type(error).__name__}: {error}")
            self.health.api_failed(self.label, "poll", f"{type(error).__name__}: {error}")
            return
        finally:
            self._listed_at = self.clock.now()  # tried: the next is an interval away
        self.metrics.polls_total.labels(
            account=self.label, result="expired" if found.resync else "ok"
        ).inc()
        self.health.api_succeeded(self.label, "poll")
        if found.resync:
            self._log.info("no usable sync token: full resync")
            self.enqueue(FULL, Trigger.RESYNC)
        if found.keys:
            self._log.info("live changes", keys=len(found.keys))
        for key in sorted(found.keys):
            self.enqueue(key, Trigger.LIVE, self.damper.delay(key))

    # -- the worker --------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            keys = await self.queue.get_batch()
            if not keys:
                return
            try:
                await self._pass(keys)
            finally:
                self.queue.done(keys)
            pass_settled()  # what the pass left is long-lived: out of the collector's walks
            self.backend.between_passes(self.queue.next_due())

    async def _pass(self, keys: list[str]) -> None:
        why = {key: self._reasons.pop(key, set()) for key in keys}
        triggers: set[Trigger] = set().union(*why.values())
        log = self._log.bind(keys=len(keys), triggers=sorted(str(t) for t in triggers))
        self.passes += 1
        self.status.pass_started(keys, (str(t) for t in triggers))
        if self.suspended:
            self._count("skipped")
            self._mark_ready()
            self.status.pass_finished("skipped", {}, "the account is suspended")
            log.info("pass skipped: account suspended")
            return
        self._ticket = Ticket(urgent=bool(triggers & _URGENT))
        queued = self.clock.now()

        listings = self.poller.written.listings if self.poller is not None else 0
        try:
            async with self.slots.hold(ticket=self._ticket):
                log = log.bind(slot_wait=round(self.clock.now() - queued, 3))
                self.backend.urgent = self._ticket.urgent  # promoted meanwhile, perhaps
                try:
                    await self._load_and_run(keys, why, triggers, log)
                finally:
                    self.backend.urgent = False
        finally:
            self._ticket = None
            if self.poller is not None and self.poller.written.listings != listings:
                self._listed_at = self.clock.now()  # the pass listed: as good as a poll
                self.polls.listed(self)

    async def _load_and_run(
        self,
        keys: list[str],
        why: dict[str, set[Trigger]],
        triggers: set[Trigger],
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        """Inside a slot: re-read the manifests if need be, then run the pass."""
        if self._stale or self.store.state is None or triggers & {Trigger.START, Trigger.RESYNC}:
            began = self.clock.now()
            await self._reload(log)
            log = log.bind(load=round(self.clock.now() - began, 3))
        state = self.store.state
        self._edited = False  # this pass has read every edit so far
        if state is None or self.store.broken:
            self._count("skipped")
            self.status.pass_finished("skipped", {}, "the manifests are broken")
            log.warning("pass skipped: manifests are broken; nothing is written until fixed")
            return
        try:
            await self._run_pass(keys, why, triggers, state, log)
        finally:
            self.store.release()  # between passes an account holds fingerprints only

    async def _run_pass(
        self,
        keys: list[str],
        why: dict[str, set[Trigger]],
        triggers: set[Trigger],
        state: DesiredState,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        write = self.account.drift_policy is DriftPolicy.CORRECT or bool(
            triggers & {Trigger.START, Trigger.MANIFEST, Trigger.RETRY}
        )
        scope = self._scope(keys, state)
        log = log.bind(scope="keys" if scope else "full", revision=state.revision)
        started = self.clock.now()
        self._began = (started, self.backend.paced_seconds)
        left: set[str] = set()
        counts: dict[str, int] = {}
        message = ""
        stopped = False
        try:
            if write:
                plans: list[Plan] = []
                # An edit's contacts are written first; a pass that an edit overtakes stops
                # between two batches and comes back at once with the edit (_enqueue_outcomes).
                steering = Steering(
                    first=frozenset(k for k in keys if Trigger.MANIFEST in why[k]) - {FULL},
                    stop=lambda: self._edited,
                )
                result = await self.backend.apply(
                    state, self.store.suspended, scope, on_plan=plans.append, steering=steering
                )
                stopped = result.stopped
                outcome, left = self._enqueue_outcomes(
                    keys, why, result, log, plans[-1] if plans else None
                )
                counts = {str(o): n for o, n in result.counts().items()}
                message = "; ".join(result.errors)
            else:
                plan = await self.backend.plan(state, self.store.suspended, scope)
                self._report(why, plan, log)
                outcome = "success"
                counts = {"drifted": len(plan.changes)}
        except asyncio.CancelledError:
            raise
        except LeaseError as error:  # another writer: this account waits, the others go on
            outcome = "waiting"
            message = self._wait_for_lease(keys, error, log)
        except Exception as error:
            outcome = "error"
            message = f"{type(error).__name__}: {error}"
            log.error("pass failed", error=message)
            requeued = _Requeued()
            for key in keys:  # a failed plan-only pass comes back plan-only, not as a write
                again = {Trigger.RETRY} if write else why[key]
                requeued.add("error", self._requeue(key, 0.0, log, again=again))
            requeued.log(log)
        finally:
            elapsed = max(0.0, self.clock.now() - started)
            self.metrics.reconcile_time_seconds.labels(account=self.label).observe(elapsed)
        self._count(outcome)
        self._withheld(self.backend.withheld_deletes, self.backend.withheld_why, log)
        self.status.pass_finished(outcome, counts, message)
        if outcome == "waiting":
            return
        self.health.lease_waiting(self.label, "")
        if outcome == "error":
            self.metrics.reconcile_errors_total.labels(account=self.label).inc()
            self.health.api_failed(self.label, "pass", message)
            if FULL in keys:
                self._behind = None
            return
        self.health.api_succeeded(self.label, "pass")
        if outcome == "success":
            self.metrics.last_success.labels(account=self.label).set(time.time())
        if FULL in keys and not stopped:
            self._mark_ready()
        if FULL in keys and outcome in ("success", "requeue") and not stopped:
            self.status.full_pass_done()
        if write:
            self._follow_full_pass(keys, left)

    def _follow_full_pass(self, keys: list[str], left: set[str]) -> None:
        """Record a full pass as applied once what it left behind has converged on its
        retries, not only when a later full pass (the resync, minutes away) finds nothing
        left: a lost create answer or a conflict must not hold back the applied revision."""
        if FULL in keys:  # a group left behind brings a full pass back: that one will tell
            self._behind = None if FULL in left else set(left)
        elif self._behind is not None:
            self._behind -= set(keys) - left
        if self._behind == set():
            self._behind = None
            if self._revision:
                self.metrics.set_revision(self.label, self._revision, applied=True)

    def _wait_for_lease(
        self, keys: list[str], error: LeaseError, log: structlog.typing.FilteringBoundLogger
    ) -> str:
        """Requeue a pass that the write lease kept from writing (another writer holds it, or
        took it mid-pass): not backed off like a failure, it comes back when the holder's lease
        would expire (sooner, to see whether it was given back early). Returns why it waits."""
        # Lease expiries are wall-clock times.
        delay, why = lease_wait(error, time.time(), self.intervals.lease_recheck)
        log.warning("pass waits for the write lease", reason=why, retry_in=round(delay, 1))
        self.health.lease_waiting(self.label, why)
        for key in keys:
            self._reasons.setdefault(key, set()).add(Trigger.RETRY)
            self.queue.add_after(key, delay)
            self.status.queued(key, delay, "lease", self.queue.num_requeues(key))
        return why

    def _withheld(self, count: int, why: str, log: structlog.typing.FilteringBoundLogger) -> None:
        """Report deletions that the last full pass withheld (over the safety limits)."""
        if count == self._withheld_count:
            return
        self._withheld_count = count
        self.metrics.deletes_withheld.labels(account=self.label).set(count)
        if not count:
            self.health.blocked(self.label, "")
            log.info("no deletion withheld any more")
            return
        reason = f"{count} deletions withheld, everything else converges: {why}"
        self.health.blocked(self.label, reason)
        log.warning("deletions withheld", count=count, override=why)

    def _scope(self, keys: list[str], state: DesiredState) -> dict[str, str] | None:
        """Resource names of ``keys`` when a scoped pass can do (every key a desired contact
        the poller knows exactly one live copy of); ``None`` means a full pass."""
        if FULL in keys or self.poller is None:
            return None
        if not set(keys) <= {contact.name for contact in state.contacts}:
            return None  # a manifest is gone (pruning) or suspended: only a full pass decides
        return self.poller.resource_names(keys)

    async def _reload(self, log: structlog.typing.FilteringBoundLogger) -> Loaded:
        """Re-read the manifests in the planner thread: parsing and validating thousands of
        contacts would otherwise stall every account's I/O and the probes."""
        async with self._loading:
            loaded = await self.offload(self.store.reload)
        self._stale = False
        account = self.label
        state = self.store.state
        self.status.manifests_loaded(
            errors=loaded.errors,
            contacts=[c.name for c in state.contacts] if state else (),
            revision=state.revision if state else None,
        )
        self.metrics.manifest_errors.labels(account=account).set(len(loaded.errors))
        self.health.manifests_loaded(account, len(loaded.errors))
        self.metrics.manifest_loads_total.labels(
            account=account, result="ok" if loaded.ok else "invalid"
        ).inc()
        if not loaded.ok:
            for problem in loaded.errors:
                log.error("manifest error", error=problem)
            kept = "the last good manifests stay in force" if self.store.loaded else "none loaded"
            log.error("manifests are broken", errors=len(loaded.errors), desired=kept)
            return loaded
        state = self.store.state
        revision = state.revision if state else None
        if loaded.rereads:
            log.info("manifests republished while read; read again", rereads=loaded.rereads)
        if loaded.changed:
            self._behind = None  # a new revision is applied by the passes it brings
            log.info(
                "manifests loaded",
                revision=revision,
                contacts=len(state.contacts) if state else 0,
                groups=len(state.groups) if state else 0,
                suspended=len(self.store.suspended),
                changed="all" if loaded.changed_keys is None else len(loaded.changed_keys),
            )
        elif revision != self._revision:
            log.info(
                "manifests revision changed; the contacts it defines did not", revision=revision
            )
        if revision:
            self.metrics.set_revision(account, revision)
        self._revision = revision
        return loaded

    def _enqueue_outcomes(
        self,
        keys: list[str],
        why: dict[str, set[Trigger]],
        result: ApplyResult,
        log: structlog.typing.FilteringBoundLogger,
        plan: Plan | None = None,
    ) -> tuple[str, set[str]]:
        """Turn a converge's outcomes into queue operations; return the pass's result label
        and the keys it left behind."""
        account = self.label
        for obj in result.results:
            self.metrics.reconcile_keys_total.labels(account=account, outcome=obj.outcome).inc()
        left: set[str] = set()
        requeued = _Requeued()
        for obj in result.left:
            key = obj.key if obj.kind == "contact" else FULL
            if key in left:
                continue
            left.add(key)
            if obj.outcome is Outcome.CONFLICT:
                self.metrics.conflicts_total.labels(account=account).inc()
            wait = 0.0
            if obj.retry_at is not None:  # on this worker's clock: the backend shares it
                wait = obj.retry_at.timestamp() - self.clock.now()
            outcome = str(obj.outcome)
            requeued.add(outcome, self._requeue(key, wait, log, outcome=outcome))
        if result.stopped:  # overtaken by an edit: the rest comes back with it, at once
            for key in keys:
                if key not in left:
                    left.add(key)
                    self.enqueue(key, Trigger.RETRY)
            log.info("pass stopped for an edit; the rest follows with it", keys=len(keys))
        self.status.applied(
            (
                (o.key, str(o.outcome), o.reason, o.resource_name)
                for o in result.results
                if o.kind == "contact"
            ),
            live={key for key, triggers in why.items() if Trigger.LIVE in triggers},
        )
        if FULL in keys:  # only a full pass may prune, so only it says what deletions wait
            self.status.deletion_refused(result.refused or "")
            if plan is not None:
                withheld, orphans = kept_deletions(plan)
                self.status.deletions(withheld=withheld, orphans=orphans)
        for key, fields in result.drift.items():  # drift the policy left in place (report)
            self.metrics.drift_detected_total.labels(account=account, policy="report").inc()
            log.warning("drift detected", key=key, fields=list(fields))
        if result.drift:  # drift left in place stays visible in the status too
            self.status.drift_checked(
                {key: ", ".join(fields) for key, fields in result.drift.items()}, set(result.drift)
            )
        for key, triggers in why.items():
            done = result.get("contact", key)
            if Trigger.LIVE in triggers and done is not None and done.outcome in _WRITTEN:
                self.damper.corrected(key)
                self.metrics.drift_detected_total.labels(account=account, policy="correct").inc()
                log.info("drift corrected", key=key, action=str(done.outcome))
        if result.errors:
            for problem in result.errors:
                log.error("pass incomplete", error=problem)
            for key in keys:
                if key not in left:
                    requeued.add("error", self._requeue(key, 0.0, log))
            requeued.log(log)
            return "error", left
        for key in keys:
            if key not in left:
                self.queue.forget(key)
        requeued.log(log)
        counts = result.counts()
        started, paced = self._began
        log.info(
            "pass finished",
            took=round(self.clock.now() - started, 3),
            paced=round(self.backend.paced_seconds - paced, 3),  # the account's polls' too
            created=counts[Outcome.CREATED],
            updated=counts[Outcome.UPDATED] + counts[Outcome.ADOPTED],
            deleted=counts[Outcome.DELETED],
            unchanged=counts[Outcome.UNCHANGED] + counts[Outcome.SKIPPED],
            left=len(result.left),
        )
        return ("requeue" if left else "success"), left

    def _report(
        self,
        why: dict[str, set[Trigger]],
        plan: Plan,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        """A planning-only pass (``report``): log and count the drift it shows, write nothing.

        Drift is what the plan labels so (a field changed live since we wrote it, its manifest
        value unchanged); the planner keeps it out of every write under ``report``. Other
        differences (intent not applied yet) still show as out of sync in the status.
        """
        full = FULL in why
        drifted: dict[str, str] = {}
        for key, fields in plan.drift_left.items():
            self.metrics.drift_detected_total.labels(account=self.label, policy="report").inc()
            log.warning("drift detected", key=key, fields=list(fields))
            drifted[key] = ", ".join(fields)
        for item in plan.changes:
            if item.kind is Kind.CONTACT and item.key not in drifted:
                changed = sorted({change.field for change in item.changes})
                drifted[item.key] = ", ".join(changed) or str(item.action)
        self.status.drift_checked(drifted, None if full else set(why))
        if full:
            withheld, orphans = kept_deletions(plan)
            self.status.deletions(withheld=withheld, orphans=orphans)
        for key in why:
            self.queue.forget(key)

    def _requeue(
        self,
        key: str,
        at_least: float,
        log: structlog.typing.FilteringBoundLogger,
        outcome: str = "error",
        again: Iterable[Trigger] = (Trigger.RETRY,),
    ) -> float:
        """Queue ``key`` again after its backoff (at least ``at_least``); return the delay.
        Logged per key at debug level only: a pass of thousands logs one line (``_Requeued``)."""
        delay = max(self.queue.limiter.when(key), at_least)
        self._reasons.setdefault(key, set()).update(again)
        self.queue.add_after(key, delay)
        self.status.queued(key, delay, outcome, self.queue.num_requeues(key))
        name = self.label
        self.metrics.workqueue_retries_total.labels(name=name).inc()
        self.metrics.workqueue_backoff_seconds.labels(name=name).observe(delay)
        log.debug("requeued", key=key, outcome=outcome, delay=round(delay, 3))
        return delay

    def _count(self, result: str) -> None:
        self.metrics.reconcile_total.labels(account=self.label, result=result).inc()

    def _mark_ready(self) -> None:
        if not self._ready:
            self._ready = True
            self.health.mark_ready(self.label)
