"""Turns: a bounded number of holders at once, the urgent waiters served before the others.

Two things of a replica are shared by every account and taken in turns: the pass slots (how
many passes run at once, :mod:`reconciler.controller.slots`) and the pacer's buckets (whose
waiters take their tokens one after another, :mod:`reconciler.people.pacing`). In both, a
thousand accounts converging form a long line, and an edit's work must not wait at its end:
the target is an edit applied within seconds while the domain converges. So waiters are served
urgent first, then in arrival order, and a waiter can be made urgent while it waits
(:meth:`Turns.promote`). Where every holder may hold on for long (a pass of a thousand
contacts), urgent waiters may also take one of a few ``reserve`` turns beyond the ``size``,
so that they wait for none of them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["Ticket", "Turns"]


class Ticket:
    """One waiter's place in the line."""

    __slots__ = ("future", "reserved", "urgent")

    def __init__(self, *, urgent: bool = False) -> None:
        self.urgent = urgent
        self.future: asyncio.Future[None] | None = None  # while waiting
        self.reserved = False  # its turn is one of the reserve


class Turns:
    """``size`` holders at once, and up to ``reserve`` more that only urgent waiters take;
    waiters are served urgent first, then in arrival order."""

    def __init__(self, size: int = 1, *, reserve: int = 0) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1: {size}")
        if reserve < 0:
            raise ValueError(f"reserve must not be negative: {reserve}")
        self.size = size
        self.reserve = reserve
        self._free = size
        self._spare = reserve  # reserve turns not taken
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()
        self._reserving: dict[asyncio.Future[None], Ticket] = {}  # urgent waiters' tickets

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
            if self._spare:  # a reserve turn is free: no need to wait for a holder
                self._spare -= 1
                ticket.reserved = True
                future.set_result(None)
                return
            self._urgent.append(future)
            self._reserving[future] = ticket

    @asynccontextmanager
    async def hold(
        self, *, urgent: bool = False, ticket: Ticket | None = None
    ) -> AsyncIterator[None]:
        """Wait for a turn (``urgent`` ones before the others) and hold it for the block;
        ``ticket`` lets the waiter be promoted meanwhile."""
        ticket = ticket or Ticket(urgent=urgent)
        ticket.reserved = False
        if self._free and not self.waiting:
            self._free -= 1
        elif ticket.urgent and self._spare:
            self._spare -= 1
            ticket.reserved = True
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if ticket.urgent else self._normal).append(future)
            if ticket.urgent:
                self._reserving[future] = ticket
            ticket.future = future
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release(ticket)  # handed a turn as we were cancelled: pass it on
                raise
            finally:
                ticket.future = None
                self._reserving.pop(future, None)
        try:
            yield
        finally:
            self._release(ticket)

    def _release(self, ticket: Ticket) -> None:
        """Hand the turn ``ticket`` held to the next waiter that may take it, or free it."""
        queues = (self._urgent,) if ticket.reserved else (self._urgent, self._normal)
        for queue in queues:
            while queue:
                future = queue.popleft()
                if not future.done():
                    waiter = self._reserving.get(future)
                    if waiter is not None:
                        waiter.reserved = ticket.reserved
                    future.set_result(None)
                    return
        if ticket.reserved:
            self._spare += 1
        else:
            self._free += 1
