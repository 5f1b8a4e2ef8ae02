"""The event loop first at the GIL: a short switch interval while the controller runs.

The controller's event loop serves every account and the probes, while worker threads (the
planner, the create journal's writes) run Python beside it. The loop gives up the GIL at every
wait for its sockets and at every system call, and takes it back only when the thread that
holds it lets go: after at most the interpreter's switch interval, 5 ms by default. A turn of
the loop waits so several times, and ``/healthz`` needs a few turns; with 5 ms the loop's turns
crept at ~200 a second whenever the planner was busy. At 0.5 ms a waiting loop gets the GIL ten
times sooner, and the worker threads lose little (a switch costs microseconds).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LOOP_SWITCH_INTERVAL", "loop_first"]

LOOP_SWITCH_INTERVAL = 0.0005
"""Seconds a thread holding the GIL may keep it while the event loop waits for it."""


@contextmanager
def loop_first() -> Iterator[None]:
    """Within: the switch interval is ``LOOP_SWITCH_INTERVAL``; the previous one after."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(LOOP_SWITCH_INTERVAL)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
