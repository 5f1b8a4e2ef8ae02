"""Pass slots: how many reconcile passes a replica runs at once, and who goes first.

A replica keeping a thousand accounts must not start a thousand passes at once: each holds its
desired state, its listing, its plan and its write answers while it runs, and their CPU bursts
stall the event loop. So passes take one of a fixed number of slots. Waiting is first come, first
served, with one exception: a pass for a manifest edit or a live change goes before every
waiting start or resync pass, so an edit is applied within seconds while a domain converges
(a first pass of every account can otherwise queue for minutes). An account runs one pass at a
time, so when an edit arrives while its own start pass is still waiting, that waiting pass is
promoted (:meth:`PassSlots.promote`): it re-reads the manifests anyway, and the edit would
otherwise wait behind every other account's first pass.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["PassSlots", "Ticket"]


class Ticket:
    """One pass's place in the line for a slot."""

    __slots__ = ("future", "urgent")

    def __init__(self, *, urgent: bool = False) -> None:
        self.urgent = urgent
        self.future: asyncio.Future[None] | None = None  # while waiting


class PassSlots:
    """``size`` slots shared by the accounts of one replica."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1: {size}")
        self.size = size
        self._free = size
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Passes waiting for a slot."""
        return sum(not f.done() for f in (*self._urgent, *self._normal))

    def promote(self, ticket: Ticket) -> None:
        """Make a waiting pass urgent: it goes before every ordinary one still waiting."""
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
        """Wait for a slot (``urgent`` ones before the others) and hold it for the block;
        ``ticket`` lets the waiting pass be promoted meanwhile."""
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
                    self._release()  # handed a slot just as we were cancelled: pass it on
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
