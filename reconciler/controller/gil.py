"""The event loop first at the GIL: a short switch interval and rare, short garbage collections.

The controller's event loop serves every account and the probes, while worker threads (the
planner, the create journal's writes) run Python beside it. Two things keep the GIL from it:

- The loop gives up the GIL at every wait for its sockets and at every system call, and takes
  it back only when the thread that holds it lets go: after at most the interpreter's switch
  interval, 5 ms by default. A turn of the loop waits so several times, and ``/healthz`` needs
  a few turns. At 0.5 ms a waiting loop gets the GIL ten times sooner, and the worker threads
  lose little (a switch costs microseconds). At 100 x 200: ``/healthz`` p50 22 -> 6 ms.
- The garbage collector. With Python's thresholds (700, 10, 10) a converging replica ran a
  full collection every second or so, each walking the whole heap (the parse cache, every
  account's status and index: millions of objects) with the GIL held: measured at 100 x 200,
  22 full collections in 28 s, 374 ms each at p50 and 694 ms at most, the longest stalls of
  the loop by far. With (10,000, 10, 100) and the start-up's objects frozen (never walked
  again), the same run had one full collection (23 ms); the youngest generation is collected
  every 10,000 allocations (~5 ms) and the middle one every 100,000 (~50 ms). Reference
  counting frees everything that is not in a cycle at once, as before; cycles wait longer.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["GC_THRESHOLDS", "LOOP_SWITCH_INTERVAL", "loop_first"]

LOOP_SWITCH_INTERVAL = 0.0005
"""Seconds a thread holding the GIL may keep it while the event loop waits for it."""

GC_THRESHOLDS = (10_000, 10, 100)
"""The collector's thresholds while the controller runs (see the module)."""


@contextmanager
def loop_first() -> Iterator[None]:
    """Within: the switch interval is ``LOOP_SWITCH_INTERVAL``, the collector's thresholds
    ``GC_THRESHOLDS``, and what exists on entry (modules, settings) is frozen out of the
    collector's walks; everything is as it was after."""
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(LOOP_SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        sys.setswitchinterval(interval)
