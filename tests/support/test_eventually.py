"""The shared wait helper returns the first truthy value and fails loudly otherwise."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest

from tests.support.eventually import NeverHappened, eventually, eventually_async


def test_returns_the_first_truthy_value_from_another_thread() -> None:
    """A value set by another thread is seen and returned."""
    box: list[int] = []
    threading.Timer(0.01, box.append, (7,)).start()
    assert eventually(lambda: box and box[0], "the timer") == 7


def test_a_failing_assert_is_retried_then_chained() -> None:
    """Plain asserts mean "not yet"; the last one explains the timeout."""
    calls = itertools.count()

    def check() -> bool:
        assert next(calls) > 1_000_000, "still counting"
        return True

    with pytest.raises(NeverHappened, match="waiting for the count") as failure:
        eventually(check, "the count", limit=0.2)
    assert isinstance(failure.value.__cause__, AssertionError)


async def test_the_async_form_waits_on_a_coroutine() -> None:
    """The coroutine form sees an effect another task makes."""
    seen: list[str] = []

    async def check() -> str | None:
        return seen[0] if seen else None

    async def later() -> None:
        seen.append("done")

    task = asyncio.get_running_loop().create_task(later())
    assert await eventually_async(check, "the task") == "done"
    await task


async def test_the_async_form_takes_a_plain_check_too() -> None:
    """A plain function reading state another task changes is polled the same way."""
    seen: list[str] = []

    async def later() -> None:
        seen.append("done")

    task = asyncio.get_running_loop().create_task(later())
    assert await eventually_async(lambda: seen and seen[0], "the task") == "done"
    await task
