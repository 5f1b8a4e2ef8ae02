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
  interval again (:meth:`Pollable.listed_ago`); an account not listed yet (its first pass still
  waits) has nothing to poll, since that pass reads everything.
- **Polls are background work**: while passes wait for a pass slot
  (:attr:`~reconciler.controller.slots.PassSlots.waiting`) a due poll is deferred, looked at
  again every :data:`RECHECK` seconds: the reads go to the passes, which read what they
  converge anyway. No account starves: once its last listing is ``max_wait`` old (the resync
  interval) it is polled, passes waiting or not. (An interval longer than ``max_wait`` leaves
  nothing to defer.)

``/status`` (``polls``) and the metrics ``reconciler_poll_interval_seconds``,
``reconciler_polls_waiting`` and ``reconciler_polls_deferred_total`` show the interval in force
and the deferrals.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from reconciler.clock import Clock, SystemClock

if TYPE_CHECKING:
    from reconciler.controller.metrics import Metrics
    from reconciler.controller.slots import PassSlots

__all__ = ["POLL_SHARE", "RECHECK", "PollSchedule", "Pollable", "poll_interval"]

POLL_SHARE = 0.1
"""The share of the project's read budget the polls may use at most."""

RECHECK = 1.0
"""Seconds between looks at whether passes still wait, while a due poll is deferred."""

_log = structlog.get_logger("reconciler.controller")


class Pollable(Protocol):
    """An account as the schedule sees it (an
    :class:`~reconciler.controller.account.AccountWorker`)."""

    @property
    def label(self) -> str: ...

    def listed_ago(self) -> float | None:
        """Seconds since the account's last listing, full or incremental; ``None`` while it has
        no sync token (nothing to poll)."""
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
    """When each account of a replica is polled (see the module)."""

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
        self._deferred: set[str] = set()  # accounts whose due poll is deferred now
        self._sent_at: float | None = None  # when the last poll went out
        self._wake = asyncio.Event()
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
        self._wake.set()

    def remove(self, account: Pollable) -> None:
        """Poll ``account`` no more; a poll of it in flight is cancelled."""
        if self._accounts.get(account.label) is account:
            del self._accounts[account.label]
            self._deferred.discard(account.label)
            task = self._polling.pop(account.label, None)
            if task is not None:
                task.cancel()

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
        """Send the polls until cancelled; polls in flight are cancelled with it."""
        try:
            while True:
                wait = self._step()
                if wait > 0:
                    self._wake.clear()
                    await self._sleep(wait)
        finally:
            tasks = list(self._polling.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` on the clock, or until an account is added (the interval and the
        spacing change with the number of accounts)."""
        sleeping = asyncio.ensure_future(self.clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeping, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeping, woken):
                task.cancel()
            await asyncio.gather(sleeping, woken, return_exceptions=True)

    def _step(self) -> float:
        """Send the next poll if it is due and may go now; return the seconds to wait before
        looking again (0: look again at once)."""
        now = self.clock.now()
        interval = self.interval
        if self._sent_at is not None:  # the spacing: one poll every interval / accounts
            gap = self._sent_at + interval / max(1, len(self._accounts)) - now
            if gap > 0:
                return gap
        due: list[tuple[float, Pollable]] = []
        soonest = self.configured  # nothing listed yet: look again then (or when one is added)
        for label, account in self._accounts.items():
            if label in self._polling:
                continue
            ago = account.listed_ago()
            if ago is None:
                continue
            if ago >= interval:
                due.append((ago, account))
            else:
                soonest = min(soonest, interval - ago)
        if not due:
            self._deferred.clear()
            return soonest
        ago, account = max(due, key=lambda item: item[0])
        if self.slots is not None and self.slots.waiting and ago < self.max_wait:
            for _ago, waiting in due:
                if waiting.label not in self._deferred:
                    self._deferred.add(waiting.label)
                    self.deferred_total += 1
                    if self.metrics is not None:
                        self.metrics.polls_deferred_total.inc()
            return min(RECHECK, self.max_wait - ago)
        self._deferred.discard(account.label)
        self._sent_at = now
        task = asyncio.get_running_loop().create_task(self._poll(account))
        self._polling[account.label] = task
        return 0.0

    async def _poll(self, account: Pollable) -> None:
        try:
            await account.poll()
        except Exception as error:  # the account handles its own; this is a bug, not a fault
            _log.error("poll crashed", account=account.label, error=repr(error))
        finally:
            if self._polling.get(account.label) is asyncio.current_task():
                del self._polling[account.label]
