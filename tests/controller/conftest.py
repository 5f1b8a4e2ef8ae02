"""Fixtures for the controller tests: a clock moved by hand, and for the end-to-end ones the
emulator's admin surface (or the emulator holding one call), and a folder of two contact
manifests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import BackgroundServer, create_app
from tests.support.controller import Emulator
from tests.support.held_calls import HeldCall
from tests.support.manifests import PublishedTree, contact_yaml


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

    @property
    def sleeping(self) -> int:
        """Sleeps pending now: a loop that woke is back asleep once this is what it was."""
        return sum(not future.done() for _due, future in self._sleepers)

    async def run_ready(self, rounds: int = 20) -> None:
        """Let every ready task run until the loop has nothing left to do right now."""
        for _ in range(rounds):
            await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(emulator_server: Any) -> Emulator:
    return Emulator(emulator_server.url)


JANE_AND_JOE = (
    contact_yaml("jane", "Jane", email="jane@example.com") + "---\n" + contact_yaml("joe", "Joe")
)


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    """Two contacts, jane (with an email address) and joe, in a plain folder."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "people.yaml").write_text(JANE_AND_JOE)
    return folder


@pytest.fixture
def published(tmp_path: Path) -> PublishedTree:
    """The same two contacts, published as git-sync would: an edit swaps a whole revision in,
    so a watching controller never reads a half-written tree."""
    return PublishedTree(tmp_path / "published", {"people.yaml": JANE_AND_JOE})


@pytest.fixture
def held_server() -> Iterator[tuple[HeldCall, str]]:
    """The emulator over HTTP, able to hold one call until the test lets it through."""
    gate = HeldCall(create_app())
    with BackgroundServer(gate) as server:
        try:
            yield gate, server.url
        finally:
            gate.opened.set()
