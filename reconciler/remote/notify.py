"""Tell people about transitions: once per revision and reason, retried, never in a pass's way.

The status model hands every transition worth hearing about (a pass failed, drift detected or
corrected, manifests broken or fixed, deletes withheld, a contact stalled in conflict) to
:meth:`Notifier.submit`, on the event loop, in the middle of a pass. So ``submit`` only
deduplicates and appends to a bounded queue; a separate task delivers, each delivery in a worker
thread (Apprise and most webhooks are blocking), retrying with exponential backoff. A slow or
dead target delays nothing but later notifications.

Deduplication: one notification per account, kind, contact and manifests revision. A pass that
fails ten times on the same revision is one message; the same failure on the next revision is a
new one.

Targets are Apprise URLs (``json://``, ``slack://``, ``gchat://``, ``mailto://``, ... : one
syntax for every service; see Apprise's documentation) and GitHub commit statuses
(:mod:`reconciler.remote.github`).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

import structlog

from reconciler.controller.events import Event, EventKind

__all__ = ["AppriseTarget", "Notifier", "Target", "render"]

_log = structlog.get_logger("reconciler.notify")

_HEADLINES = {
    EventKind.PASS_FAILED: "a pass failed",
    EventKind.DRIFT_DETECTED: "drift detected",
    EventKind.DRIFT_CORRECTED: "drift corrected",
    EventKind.MANIFESTS_BROKEN: "manifests broken",
    EventKind.MANIFESTS_FIXED: "manifests fixed",
    EventKind.DELETES_WITHHELD: "deletes withheld",
    EventKind.CONTACT_STALLED: "a contact is stalled in conflict",
    EventKind.REVISION_PENDING: "a new revision is being applied",
    EventKind.REVISION_APPLIED: "a revision is applied",
}


class Target(Protocol):
    """Somewhere notifications go. ``send`` blocks (it runs in a worker thread)."""

    name: str

    def send(self, event: Event) -> bool:
        """Deliver ``event``; False (or an exception) means try again later."""
        ...


def render(event: Event) -> tuple[str, str]:
    """``(title, body)`` of a notification; names the account, contact and revision only."""
    title = f"contacts-reconciler: {_HEADLINES[event.kind]} in {event.account}"
    lines = [event.message]
    if event.key:
        lines.append(f"contact: {event.key}")
    lines.append(f"revision: {event.revision or 'unknown'}")
    lines.append(f"reason: {event.kind}")
    return title, "\n".join(lines)


class AppriseTarget:
    """Apprise URLs and Apprise configuration files (YAML or text, e.g. a mounted Secret)."""

    name = "apprise"

    def __init__(self, urls: Sequence[str] = (), config_files: Sequence[Path] = ()) -> None:
        import apprise

        self._apprise = apprise.Apprise()
        for url in urls:
            if not self._apprise.add(url):
                raise ValueError(
                    "a --notify value is not an Apprise URL (see Apprise's URL syntax, "
                    "for example json://host/path or slack://...); the value is not shown "
                    "because it may hold a secret"
                )
        for path in config_files:
            config = apprise.AppriseConfig()
            if not config.add(str(path)):
                raise ValueError(f"{path}: not a readable Apprise configuration file")
            self._apprise.add(config)

    def __len__(self) -> int:
        return len(self._apprise)

    def send(self, event: Event) -> bool:
        import apprise

        if event.progress:
            return True  # a revision's progress is for commit statuses, not for people's inboxes
        title, body = render(event)
        failing = event.outcome == "failure"
        kind = apprise.NotifyType.FAILURE if failing else apprise.NotifyType.SUCCESS
        return bool(self._apprise.notify(body=body, title=title, notify_type=kind))


class _Line:
    """One target's queue and wake-up: a slow target holds up only its own notifications."""

    def __init__(self, target: Target, capacity: int) -> None:
        self.target = target
        self.queue: collections.deque[Event] = collections.deque(maxlen=capacity)
        self.wakeup = asyncio.Event()


class Notifier:
    """Deduplicates transitions and delivers them to every target, off the event loop."""

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        capacity: int = 1000,
        remember: int = 10_000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.lines = [_Line(target, capacity) for target in targets]
        self.attempts, self.base_delay, self.max_delay = attempts, base_delay, max_delay
        self._sleep = sleep
        # What was told, oldest first; bounded so months of revisions cannot grow it forever.
        self._seen: dict[tuple[str, str, str | None, str | None], None] = {}
        self._remember = remember
        self.delivered = 0
        self.dropped = 0

    def submit(self, event: Event) -> None:
        """Queue ``event`` for every target unless its revision and reason were told already.
        Returns at once: this runs inside a pass."""
        identity = (event.account, str(event.kind), event.key, event.revision)
        if not self.lines or identity in self._seen:
            return
        self._seen[identity] = None
        if len(self._seen) > self._remember:
            del self._seen[next(iter(self._seen))]
        for line in self.lines:
            if len(line.queue) == line.queue.maxlen:
                self.dropped += 1
                _log.warning(
                    "notification dropped: the queue is full",
                    account=event.account,
                    target=line.target.name,
                )
            line.queue.append(event)
            line.wakeup.set()

    async def run(self) -> None:
        """Deliver queued notifications, each target on its own, until cancelled."""
        await asyncio.gather(*(self._serve(line) for line in self.lines))

    async def drain(self) -> None:
        """Deliver what is queued now (a stopping controller, or a test)."""
        for line in self.lines:
            while line.queue:
                await self._deliver(line.target, line.queue.popleft())

    async def _serve(self, line: _Line) -> None:
        while True:
            while line.queue:
                await self._deliver(line.target, line.queue.popleft())
            line.wakeup.clear()
            await line.wakeup.wait()

    async def _deliver(self, target: Target, event: Event) -> None:
        log = _log.bind(account=event.account, reason=str(event.kind), target=target.name)
        for attempt in range(1, self.attempts + 1):
            try:
                sent = await asyncio.to_thread(target.send, event)
            except Exception as error:  # a target's bug or outage must not stop the others
                sent = False
                log.warning("notification failed", attempt=attempt, error=type(error).__name__)
            if sent:
                self.delivered += 1
                log.info("notified", key=event.key, revision=event.revision)
                return
            if attempt < self.attempts:
                await self._sleep(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
        log.error("notification given up", attempts=self.attempts)
