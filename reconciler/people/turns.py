"""Turns: a bounded number of holders at once, the urgent waiters served before the others.

Two things of a replica are shared by every account and taken in turns: the pass slots (how
many passes run at once, :mod:`reconciler.controller.slots`) and the pacer's buckets (whose
waiters take their tokens one after another, :mod:`reconciler.people.pacing`). In both, a
thousand accounts converging form a long line, and an edit's work must not wait at its end:
the target is an edit applied within seconds while the domain converges. So waiters are served
urgent first, then in arrival order, and a waiter can be made urgent while it waits
(:meth:`Turns.promote`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Ticket", "Turns"]


class Ticket:
    """One waiter's place in the line."""

    __slots__ = ("future", "urgent")

    def __init__(self, *, urgent: bool = False) -> None:
        self.urgent = urgent
        self.future: asyncio.Future[None] | None = None  # while waiting


class Turns:
    """``size`` holders at once; waiters are served urgent first, then in arrival order."""

    def __init__(self, size: int = 1) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1: {size}")
        self.size = size
        self._free = size
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Waiters not served yet."""
        return sum(not f.done() for f in (*self._urgent, *self._normal))

    def promote(self, ticket: Ticket) -> None:
        """Make a waiter urgent: it goes before every ordinary one still waiting."""
        if ticket.urgent:
            return
        ticket.urgent = True
        future = ticket.future
        if future is not None and not future.done():
            self._normal.remove(future)
            self._urgent.append(future)

    @asynccontextmanager
    async def hold(
        self, *, urgent: bool = False, ticket: Ticket | None = None
    ) -> AsyncIterator[None]:
        """Wait for a turn (``urgent`` ones before the others) and hold it for the block;
        ``ticket`` lets the waiter be promoted meanwhile."""
        ticket = ticket or Ticket(urgent=urgent)
        if self._free and not self.waiting:
            self._free -= 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if ticket.urgent else self._normal).append(future)
            ticket.future = future
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # handed a turn just as we were cancelled: pass it on
                raise
            finally:
                ticket.future = None
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_result(None)
                    return
        self._free += 1
