"""Claimants of an address book's write lease, each standing for a run on its own machine.

Each has its own state-directory id and local lock file; wall time is a manual clock, and the
background renewal can be made to sleep until a test says so (:class:`Ticks`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from reconciler.apply.lease import Lease
from reconciler.clock import Clock, ManualClock


class Ticks:
    """A manual clock whose sleeps return only when the test says so: renewals happen on cue."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.queue: asyncio.Queue[None] = asyncio.Queue()
        self.sleeps = 0  # how many times the sleeper has started waiting

    def now(self) -> float:
        return self.clock.now()

    async def sleep(self, _seconds: float) -> None:
        self.sleeps += 1
        await self.queue.get()


def claimant(client: Any, tmp_path: Path, machine: str, clock: Clock, **kw: Any) -> Lease:
    """The lease as ``apply`` on ``machine`` would hold it (``ci@<machine>`` in its holder), on
    ``clock`` (a manual clock, or :class:`Ticks` to pace its renewals)."""
    return Lease(
        client,
        lock_path=tmp_path / machine / "lease.lock",
        instance=f"instance-{machine}",
        holder=f"apply (owner ops) by ci@{machine} pid 1",
        clock=clock,
        **kw,
    )
