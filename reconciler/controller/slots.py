"""Pass slots: how many reconcile passes a replica runs at once, and who goes first.

A replica keeping a thousand accounts must not start a thousand passes at once: each holds its
desired state, its listing, its plan and its write answers while it runs, and their CPU bursts
stall the event loop. So passes take one of a fixed number of slots. Waiting is first come, first
served, with one exception: a pass for a manifest edit or a live change goes before every
waiting start or resync pass, so an edit is applied within seconds while a domain converges
(a first pass of every account can otherwise queue for minutes).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["PassSlots"]


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

    @asynccontextmanager
    async def hold(self, *, urgent: bool = False) -> AsyncIterator[None]:
        """Wait for a slot (``urgent`` ones before the others) and hold it for the block."""
        if self._free and not self.waiting:
            self._free -= 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(future)
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self._release()  # handed a slot just as we were cancelled: pass it on
                raise
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
