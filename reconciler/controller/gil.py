"""The event loop first at the GIL: a short switch interval and rare, short garbage collections.

The controller's event loop serves every account and the probes, while worker threads (the
planner, the create journal's writes) run Python beside it. ``reconciler.collector.tuned`` owns
the settings every serving process shares (switch interval, thresholds, the start-up freeze);
this module adds the controller's own freezes. What keeps the GIL from the loop:

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
- What passes leave behind. A full collection still walked every object alive: at 100 x 1,000
  a million, most of them long-lived (each contact's status and live index record, the parse
  cache) or in flight in other passes, for 1-2.6 s with the GIL held, three times a run: the
  ``/healthz`` max, and much of its p99. So each time a pass ends its account's state is
  frozen with everything else alive (``Collector.settled``; ``gc.freeze`` is a constant-time
  move of the generations' lists), and collections walk only what was made since.

  The price is a bounded leak: an object alive at a freeze that later becomes garbage in a
  reference cycle stays until the next thaw (without a cycle, reference counting frees it as
  always). The largest such garbage, httpx's answers, no longer forms cycles (see
  ``reconciler.people.transport``). Every ``THAW_SECONDS`` the next pass end unfreezes and
  runs one full collection (logged as "collector thawed" with what it found and took), then
  freezes again: what leaks is at most what was in flight at the freezes of ten minutes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from reconciler.clock import Clock, SystemClock
from reconciler.collector import tuned

__all__ = [
    "THAW_SECONDS",
    "Collector",
    "loop_first",
    "pass_settled",
]

log = structlog.get_logger("reconciler.controller")

THAW_SECONDS = 600.0
"""Seconds between two thaws: full collections over everything, frozen state included."""


class Collector:
    """Freezes what is alive when a pass ends; thaws and collects it all every ``thaw_every``
    seconds (see the module)."""

    def __init__(self, *, thaw_every: float = THAW_SECONDS, clock: Clock | None = None) -> None:
        self.thaw_every = thaw_every
        self.clock: Clock = clock or SystemClock()
        self.thawed_at = self.clock.now()
        self.thaws = 0

    def settled(self) -> None:
        """A pass ended: freeze what is alive (thawing first when a thaw is due)."""
        if self.clock.now() - self.thawed_at >= self.thaw_every:
            self.thaw()
        gc.freeze()

    def thaw(self) -> int:
        """Unfreeze everything and run a full collection; return the garbage it found."""
        began = time.perf_counter()
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        found = gc.collect()
        self.thawed_at = self.clock.now()
        self.thaws += 1
        log.info(
            "collector thawed",
            frozen=frozen,
            garbage=found,
            took=round(time.perf_counter() - began, 3),
        )
        return found


_collector: Collector | None = None


def pass_settled() -> None:
    """An account's pass ended: inside ``loop_first``, freeze what it left (a no-op outside:
    one-shot commands and tests keep Python's collector as it is)."""
    if _collector is not None:
        _collector.settled()


@contextmanager
def loop_first(collector: Collector | None = None) -> Iterator[Collector]:
    """Within: ``reconciler.collector.tuned`` (switch interval, thresholds, what exists on
    entry frozen), and what each pass leaves frozen too (``pass_settled``, by ``collector``);
    everything is as it was after."""
    global _collector
    with tuned():
        _collector = collector or Collector()
        try:
            yield _collector
        finally:
            _collector = None
