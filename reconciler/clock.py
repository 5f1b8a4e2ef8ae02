"""Time as a dependency: everything that waits or reads the time does it through a :class:`Clock`.

Backoff, Retry-After, pacing, the work queue's delays, the controller's intervals and the
emulator's lags all depend on time, and tests must not wait for it. One protocol serves them all,
so a test can hand the same :class:`ManualClock` to the emulator, the client, the apply engine and
the controller and every part sees one timeline.

``now()`` is seconds since the epoch, so a time computed by one part (an engine's "try again at")
means the same to another (the controller's queue). :class:`SystemClock` anchors the epoch once
and then advances with the monotonic clock, so an NTP step never makes an interval negative.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Seconds since the epoch, and an awaitable sleep on the same scale."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real time: the epoch read once, advanced by ``time.monotonic``; ``asyncio.sleep``."""

    def __init__(self) -> None:
        self._epoch = time.time()
        self._start = time.monotonic()

    def now(self) -> float:
        return self._epoch + (time.monotonic() - self._start)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that moves only when told to, or when something sleeps on it: a sleep returns at
    once after moving time forward (and is recorded in ``sleeps``), so an hour of quota windows
    passes in milliseconds."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self.time += max(seconds, 0.0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)
