"""One poll schedule for every account of a replica: drift detection within a share of the reads.

An incremental poll (:mod:`reconciler.controller.polling`) costs one read. A thousand accounts
each polling every 30 s on a timer of its own send 2,000 reads a minute, two thirds of a
project's default read budget, while the domain is still converging: the polls then pace the
passes' own reads, slow convergence, and make most of the requests a converging account costs.
So a replica sends its polls from one schedule:

- **The interval is bounded by the budget**: ``max(--poll-interval, accounts / (share x
  project reads a minute))``, so polls never take more than ``share`` (:data:`POLL_SHARE`,
  10%) of the project's read budget however many accounts the replica keeps: every 30 s up to
  100 accounts on the default 3,000 reads a minute, every 200 s at 1,000. Polls go out one at a
  time, ``interval / accounts`` apart, the account listed longest ago first, so they never
  come in a burst either (not after a deferral, not at start).
- **A full listing is as good as a poll**: a pass's own listing takes a fresh sync token
  (:meth:`~reconciler.controller.liveindex.LiveIndex.relist`) and starts the account's
  interval again (the account says so: :meth:`PollSchedule.listed`); an account not listed yet
  (its first pass still waits) has nothing to poll, since that pass reads everything.
- **Polls are background work**: while passes wait for a pass slot
  (:attr:`~reconciler.controller.slots.PassSlots.waiting`) a due poll is deferred, looked at
  again every :data:`RECHECK` seconds: the reads go to the passes, which read what they
  converge anyway. No account starves: once its last listing is ``max_wait`` old (the resync
  interval) it is polled, passes waiting or not. (An interval longer than ``max_wait`` leaves
  nothing to defer.)

A poll is one request, never cut short: a stopping controller sends no more
(:meth:`PollSchedule.stop`) and an account that stops waits for its poll in flight
(:meth:`PollSchedule.remove`, within the shutdown bound), since a request cancelled mid-flight
is a read the server has counted and whose answer is lost.

``/status`` (``polls``) and the metrics ``reconciler_poll_interval_seconds``,
``reconciler_polls_waiting`` and ``reconciler_polls_deferred_total`` show the interval in force
and the deferrals.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from reconciler.clock import Clock, SystemClock, sleep_unless

if TYPE_CHECKING:
    from reconciler.controller.metrics import Metrics
    from reconciler.controller.slots import PassSlots

__all__ = ["POLL_SHARE", "RECHECK", "PollSchedule", "Pollable", "poll_interval"]

POLL_SHARE = 0.1
"""The share of the project's read budget the polls may use at most."""

RECHECK = 1.0
"""Seconds between looks at whether passes still wait, while a due poll is deferred."""

_SLACK = 64
"""Entries left behind by newer listings a heap may hold beyond twice the accounts it lines up
before it is rebuilt without them."""

_Entry = tuple[float, int, str]
"""An account in line: when it last listed (clock), a sequence number, its label."""

_log = structlog.get_logger("reconciler.controller")


class Pollable(Protocol):
    """An account as the schedule sees it (an
    :class:`~reconciler.controller.account.AccountWorker`)."""

    @property
    def label(self) -> str: ...

    def listed_ago(self) -> float | None:
        """Seconds since the account's last listing, full or incremental; ``None`` while it has
        no sync token (nothing to poll). Asked when the account is added, when its poll ends
        and when it says it listed (:meth:`PollSchedule.listed`), never on each step."""
        ...

    async def poll(self) -> None:
        """One incremental poll; handles its own errors."""
        ...


def poll_interval(
    configured: float, accounts: int, reads_per_minute: float | None, share: float = POLL_SHARE
) -> float:
    """Seconds between two polls of one account: ``configured``, or longer so that ``accounts``
    polls an interval take at most ``share`` of ``reads_per_minute`` (``None``: no budget)."""
    if reads_per_minute is None or accounts <= 0:
        return configured
    return max(configured, 60.0 * accounts / (share * reads_per_minute))


class PollSchedule:
    """When each account of a replica is polled (see the module).

    The accounts wait in line by their last listing, in two heaps (:mod:`heapq`): those not due
    yet, and those due, each least recently listed first. An account is put in line when it is
    added and each time it lists (its poll ends, or :meth:`listed` after a pass's listing), and
    taken out when it is polled or removed; an entry left behind by a newer listing is dropped
    when it reaches the top. So a step costs O(log n) whatever the number of accounts, where
    asking every account how long ago it listed cost n calls every ``interval / n`` seconds.
    """

    def __init__(
        self,
        interval: float,
        *,
        max_wait: float,
        reads_per_minute: float | None = None,
        share: float = POLL_SHARE,
        slots: PassSlots | None = None,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1]: {share}")
        self.configured = interval
        self.max_wait = max_wait
        self.reads_per_minute = reads_per_minute
        self.share = share
        self.slots = slots
        self.clock = clock or SystemClock()
        self.metrics = metrics
        self.deferred_total = 0  # due polls deferred while passes waited (each counted once)
        self._accounts: dict[str, Pollable] = {}
        self._polling: dict[str, asyncio.Task[None]] = {}  # polls in flight, by account
        # Accounts in line (listed, not in flight): each one's entry, (listed at, seq, label).
        self._entries: dict[str, _Entry] = {}
        self._later: list[_Entry] = []  # heap: in line, not found due yet
        self._due: list[_Entry] = []  # heap: found due (at ``_grouped``'s interval)
        self._fresh: dict[str, _Entry] = {}  # due, not deferred (yet)
        self._deferred: set[str] = set()  # due, and deferred while passes waited
        self._grouped = 0.0  # the interval the due heap was filled at
        self._seq = itertools.count()
        self._sent_at: float | None = None  # when the last poll went out
        self._wake = asyncio.Event()
        self._stopped = False
        if metrics is not None:
            metrics.poll_interval_seconds.set_function(lambda: self.interval)
            metrics.polls_waiting.set_function(lambda: len(self._deferred))

    @property
    def interval(self) -> float:
        """The interval in force for the accounts registered now."""
        accounts = len(self._accounts)
        return poll_interval(self.configured, accounts, self.reads_per_minute, self.share)

    def add(self, account: Pollable) -> None:
        """Poll ``account`` from now on (once a listing gave it a sync token)."""
        self._accounts[account.label] = account
        if account.label not in self._polling:
            self._line_up(account)
        self._wake.set()

    def listed(self, account: Pollable) -> None:
        """``account`` listed (a pass's own listing): its interval starts again from now."""
        if self._accounts.get(account.label) is account and account.label not in self._polling:
            self._line_up(account)

    async def remove(self, account: Pollable) -> None:
        """Poll ``account`` no more. A poll of it in flight is let finish (cut short, it would
        be a read the server counted and whose answer is lost); cancelling the caller cancels
        it."""
        label = account.label
        if self._accounts.get(label) is not account:
            return
        del self._accounts[label]
        self._out_of_line(label)
        task = self._polling.get(label)
        if task is None:
            return
        _log.debug("poll let finish", account=label)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            raise

    def stop(self) -> None:
        """Send no more polls (the controller stops); those in flight finish."""
        self._stopped = True
        self._wake.set()

    def to_json(self) -> dict[str, Any]:
        """The ``polls`` section of ``/status``."""
        return {
            "configuredSeconds": self.configured,
            "intervalSeconds": round(self.interval, 3),
            "share": self.share,
            "maxWaitSeconds": self.max_wait,
            "accounts": len(self._accounts),
            "deferred": len(self._deferred),
            "deferredTotal": self.deferred_total,
        }

    async def run(self) -> None:
        """Send the polls until :meth:`stop` (polls in flight are let finish: :meth:`remove`
        waits for them) or cancelled (they are cancelled with it)."""
        try:
            while not self._stopped:
                wait = self._step()
                if wait > 0:
                    self._wake.clear()
                    # Woken early when an account is added: the spacing changes with their number.
                    await sleep_unless(self.clock.sleep, wait, self._wake)
        except asyncio.CancelledError:
            tasks = list(self._polling.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    # -- the line ------------------------------------------------------------------------------

    def _line_up(self, account: Pollable) -> None:
        """Put ``account`` in line by its last listing; out of line while it has none."""
        label = account.label
        self._out_of_line(label)
        ago = account.listed_ago()
        if ago is None:
            return
        entry = (self.clock.now() - ago, next(self._seq), label)
        self._entries[label] = entry
        heapq.heappush(self._later, entry)
        if len(self._later) > 2 * len(self._entries) + _SLACK:
            self._later = self._in_line(self._later)

    def _out_of_line(self, label: str) -> None:
        """Take ``label`` out of line (its entries left in the heaps are dropped at the top)."""
        self._entries.pop(label, None)
        self._fresh.pop(label, None)
        self._deferred.discard(label)

    def _in_line(self, heap: list[_Entry]) -> list[_Entry]:
        """``heap`` without the entries newer listings (or a removal) left behind."""
        kept = [entry for entry in heap if self._entries.get(entry[2]) == entry]
        heapq.heapify(kept)
        return kept

    def _top(self, heap: list[_Entry]) -> _Entry | None:
        """The heap's first entry still in line (those before it are dropped)."""
        while heap and self._entries.get(heap[0][2]) != heap[0]:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def _group(self, now: float, interval: float) -> None:
        """Move the accounts that fell due since the last step from the later heap to the due
        one. A longer interval (more accounts) may make due ones not due: they go back first."""
        kept = self._deferred
        if interval > self._grouped:
            for back in self._due:
                if self._entries.get(back[2]) == back:
                    heapq.heappush(self._later, back)
            self._due.clear()
            self._fresh.clear()
            self._deferred = set()
        self._grouped = interval
        while (entry := self._top(self._later)) is not None and entry[0] <= now - interval:
            heapq.heappop(self._later)
            heapq.heappush(self._due, entry)
            if entry[2] in kept:  # deferred before, still due: not counted again
                self._deferred.add(entry[2])
            else:
                self._fresh[entry[2]] = entry
        if len(self._due) > 2 * (len(self._fresh) + len(self._deferred)) + _SLACK:
            self._due = self._in_line(self._due)  # due accounts a pass listed meanwhile

    def _step(self) -> float:
        """Send the next poll if it is due and may go now; return the seconds to wait before
        looking again (0: look again at once)."""
        now = self.clock.now()
        interval = self.interval
        if self._sent_at is not None:  # the spacing: one poll every interval / accounts
            gap = self._sent_at + interval / max(1, len(self._accounts)) - now
            if gap > 0:
                return gap
        self._group(now, interval)
        first = self._top(self._due)
        if first is None:  # nothing due: look again when the first one is (or one is added)
            later = self._top(self._later)
            soonest = self.configured if later is None else later[0] + interval - now
            return min(self.configured, soonest)
        ago = now - first[0]
        if self.slots is not None and self.slots.waiting and ago < self.max_wait:
            for label in self._fresh:
                self._deferred.add(label)
                self.deferred_total += 1
                if self.metrics is not None:
                    self.metrics.polls_deferred_total.inc()
            self._fresh.clear()
            return min(RECHECK, self.max_wait - ago)
        heapq.heappop(self._due)
        label = first[2]
        self._out_of_line(label)
        self._sent_at = now
        account = self._accounts[label]
        task = asyncio.get_running_loop().create_task(self._poll(account))
        self._polling[label] = task
        return 0.0

    async def _poll(self, account: Pollable) -> None:
        try:
            await account.poll()
        except Exception as error:  # the account handles its own; this is a bug, not a fault
            _log.error("poll crashed", account=account.label, error=repr(error))
        finally:
            if self._polling.get(account.label) is asyncio.current_task():
                del self._polling[account.label]
                if self._accounts.get(account.label) is account:  # the next an interval away
                    self._line_up(account)
