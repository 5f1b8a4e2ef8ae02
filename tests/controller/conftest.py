"""Fixtures for the controller tests: a clock moved by hand."""

from __future__ import annotations

import asyncio

import pytest


class FakeClock:
    """A :class:`reconciler.queue.Clock` whose time moves only when a test calls ``advance``."""

    def __init__(self) -> None:
        self.time = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.time + seconds, future))
        await future

    def advance(self, seconds: float) -> None:
        self.time += seconds
        still: list[tuple[float, asyncio.Future[None]]] = []
        for due, future in self._sleepers:
            if future.done():
                continue
            if due <= self.time:
                future.set_result(None)
            else:
                still.append((due, future))
        self._sleepers = still

    async def run_ready(self, rounds: int = 20) -> None:
        """Let every ready task run until the loop has nothing left to do right now."""
        for _ in range(rounds):
            await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
