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
import re
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "parse_duration", "sleep_unless"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: str | float) -> float | None:
    """Seconds in ``500ms``, ``30s``, ``10m``, ``1h`` or plain seconds (as Kubernetes and Go
    spell durations); None when ``value`` is not one."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        return None
    return float(match.group(1)) * _UNIT[match.group(2)]


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


async def sleep_unless(
    sleep: Callable[[float], Awaitable[None]], seconds: float, stop: asyncio.Event
) -> bool:
    """Sleep ``seconds`` on ``sleep`` unless ``stop`` is set first; True when it was.

    For background loops that call the API between sleeps (renewing a lease, waiting for a
    listing): stopped here, between two requests, never by cancelling one in flight, which the
    server has already counted against the quota and whose answer would be lost."""
    if stop.is_set():
        return True
    sleeping = asyncio.ensure_future(sleep(seconds))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({sleeping, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeping, stopped):
            task.cancel()
        await asyncio.gather(sleeping, stopped, return_exceptions=True)
    return stop.is_set()
