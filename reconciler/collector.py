"""The garbage collector of a long-running serving process: rarer collections, a frozen start-up,
the event loop first at the GIL, and a record of how long collections stopped everything.

Both long-running processes serve from one event loop over a large, long-lived heap: the
controller (every account's state, the parse cache) and the emulator (every user's stored people:
~2.8 GB at 1,000 accounts x 200 contacts). With Python's thresholds (700, 10, 10) a full
collection runs every second or so, walking that whole heap with the GIL held: 374 ms at p50 in
the controller at 100 x 200, 2-9.6 s in the emulator late in a 1,000 x 200 run, while it counts
nobody's calls (late counts are what made its quotas answer 429 to a client that kept within
them). So, within :func:`tuned`:

- the thresholds are ``GC_THRESHOLDS`` (10,000, 10, 100): the youngest generation is collected
  every 10,000 allocations (~5 ms of work) and the middle one every 100,000; reference counting
  still frees at once everything that is not in a cycle;
- what exists on entry (modules, settings, state loaded from a file) is frozen: ``gc.freeze``
  moves it out of every collection's walk, in constant time;
- the interpreter's switch interval is ``LOOP_SWITCH_INTERVAL``: a thread holding the GIL gives
  it back to a waiting loop after 0.5 ms instead of 5 ms;
- every collection is timed (:class:`Pauses`, ``gc.callbacks``): the emulator reports them as
  ``gc_pauses`` in ``GET /__emulator/stats``, the figure the benchmarks print.

What each process freezes later is its own policy (the controller's pass ends,
``reconciler.controller.gil``; the emulator's full collections, ``reconciler.emulator.server``).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["GC_THRESHOLDS", "LOOP_SWITCH_INTERVAL", "PAUSES", "Pauses", "tuned"]

LOOP_SWITCH_INTERVAL = 0.0005
"""Seconds a thread holding the GIL may keep it while the event loop waits for it."""

GC_THRESHOLDS = (10_000, 10, 100)
"""The collector's thresholds while a long-running process serves (see the module)."""


class Pauses:
    """How long the garbage collector stopped the process: count, total and longest pause, over
    all collections and over full (oldest-generation) ones, timed by a ``gc.callbacks`` hook."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.longest = 0.0
        self.full_count = 0
        self.full_total = 0.0
        self.full_longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        """The ``gc.callbacks`` hook: ``start`` and ``stop`` of each collection."""
        if phase == "start":
            self._began = time.perf_counter()
            return
        took = time.perf_counter() - self._began
        self.count += 1
        self.total += took
        self.longest = max(self.longest, took)
        if info.get("generation") == 2:
            self.full_count += 1
            self.full_total += took
            self.full_longest = max(self.full_longest, took)

    def install(self) -> None:
        """Start timing collections (once, however often called)."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def uninstall(self) -> None:
        """Stop timing collections."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def snapshot(self) -> dict[str, float | int]:
        """The figures as JSON (seconds, rounded to the microsecond)."""
        return {
            "count": self.count,
            "total": round(self.total, 6),
            "max": round(self.longest, 6),
            "full_count": self.full_count,
            "full_total": round(self.full_total, 6),
            "full_max": round(self.full_longest, 6),
        }


PAUSES = Pauses()
"""This process's collections, timed while :func:`tuned` is in effect."""


@contextmanager
def tuned() -> Iterator[None]:
    """Within: ``GC_THRESHOLDS``, what exists on entry frozen, ``LOOP_SWITCH_INTERVAL``, and
    collections timed in ``PAUSES``; everything is as it was after."""
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(LOOP_SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    PAUSES.install()
    try:
        yield
    finally:
        PAUSES.uninstall()
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        sys.setswitchinterval(interval)
