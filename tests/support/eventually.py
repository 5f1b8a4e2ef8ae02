"""Wait on an effect, never on the clock.

Tests that wait for another task, thread or process poll the effect they expect until it shows
or a generous limit passes. The limit is not a timing assertion: it only ends a test that would
otherwise hang, so it is set far above what a loaded 2-core machine needs (``LIMIT``).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

LIMIT = 60.0  # seconds before a wait that never sees its effect fails the test
STEP = 0.05  # seconds between two looks


class NeverHappened(AssertionError):
    """The awaited effect did not show within the limit."""


def eventually(check: Callable[[], T], what: str, limit: float = LIMIT) -> T:
    """Call ``check`` until it returns something truthy, and return that.

    An ``AssertionError`` raised by ``check`` counts as "not yet", so a check can be written
    with plain asserts; after ``limit`` seconds the last one is chained to the failure.
    """
    deadline = time.monotonic() + limit
    last: AssertionError | None = None
    while True:
        try:
            value = check()
        except AssertionError as error:
            last, value = error, None
        if value:
            return value
        if time.monotonic() > deadline:
            raise NeverHappened(f"timed out after {limit:g} s waiting for {what}") from last
        time.sleep(STEP)


async def eventually_async(
    check: Callable[[], Awaitable[T] | T], what: str, limit: float = LIMIT
) -> T:
    """``eventually`` inside an event loop, yielding to it between looks; ``check`` may be a
    coroutine function or a plain one (reading state that other tasks change)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    last: AssertionError | None = None
    while True:
        try:
            answer = check()
            value = await answer if inspect.isawaitable(answer) else answer
        except AssertionError as error:
            last, value = error, None
        if value:
            return value
        if loop.time() > deadline:
            raise NeverHappened(f"timed out after {limit:g} s waiting for {what}") from last
        await asyncio.sleep(STEP)
