"""Proof that blocking work ran off the event loop, without timing anything.

Work that should run in a worker thread calls :meth:`LoopWitness.confirm`: it asks the event
loop to run a callback and waits for it. From a worker thread the free loop runs it at once;
on the loop itself the callback cannot run until the work returns, so the wait runs out and
the stall is recorded (once: later calls do not wait again).
"""

from __future__ import annotations

import asyncio
import threading

from tests.support.eventually import LIMIT


class LoopWitness:
    """Counts the calls of :meth:`confirm` that found the loop free, and those that stalled it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.free = 0
        self.stalled = 0

    def confirm(self) -> None:
        if self.stalled:
            return
        served = threading.Event()
        self.loop.call_soon_threadsafe(served.set)
        if served.wait(LIMIT):
            self.free += 1
        else:
            self.stalled += 1
