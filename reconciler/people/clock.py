"""Time as a dependency: the client sleeps and reads the time only through a :class:`Clock`.

Backoff, Retry-After and pacing all wait, and tests must not: :class:`ManualClock` advances its
own time when something sleeps on it, so a run that would take an hour of quota windows finishes
in milliseconds. Its ``now`` is a plain callable, so an emulator can share the same timeline.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    """Monotonic seconds and an awaitable sleep."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real monotonic clock and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock whose sleeps return at once after moving time forward; records every sleep."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def __call__(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += max(seconds, 0.0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)
