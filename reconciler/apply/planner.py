"""Planning off the event loop: one worker thread makes every plan of the process.

It also folds each listing for its plan (:func:`reconciler.apply.live.read_live`: our fresher
copies, the stamps' names), the other per-contact work of a pass (~10 ms per 1,000 contacts
on an idle machine, several times that on a loaded one), and a controller's manifest reloads
(parsing and validating YAML, the costliest CPU work of a first pass). All of it queues here
rather than in a thread per account: every thread with CPU work takes turns at the GIL with
the event loop, so with reloads in the default executor (up to six threads) beside the planner,
the loop held the GIL about one turn in seven while accounts started, and ``/healthz`` waited.

``build_plan`` is pure CPU work that grows with the account (measured on a shared 2-core VM:
~28 ms for a first pass of 200 contacts, ~75 ms for 1,000; ~50 ms to re-plan 1,000 unchanged
ones). On the event loop it would stall every other account of a controller, and its probes,
for that long. It runs in a worker thread instead.

Why one thread, and not a pool or a process:

- The GIL lets one thread run Python at a time, so more planning threads would not plan
  faster; each would only be one more thread the event loop takes turns with. With one, the
  loop waits at most one switch interval (5 ms) for the GIL whenever it has work, while plans
  queue behind each other (a few tens of milliseconds each).
- A process would plan beside the loop, but its inputs and the plan must be pickled on the way
  in and out: measured at ~8 ms for 200 contacts and ~45 ms for 1,000, most of what the plan
  itself costs, on the loop.

The plan reads its inputs and builds new objects only: nothing it touches is changed under it
while the loop goes on.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import structlog

from reconciler.model import DesiredState, LiveState
from reconciler.plan.build import build_plan
from reconciler.plan.model import Plan
from reconciler.plan.options import PlanOptions

__all__ = ["in_planner", "plan_off_loop"]

_log = structlog.get_logger("reconciler.planner")

P = ParamSpec("P")
T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _forget_in_child() -> None:
    """A forked child has none of its parent's threads: it starts its own planner."""
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


def _planner() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner")
        return _executor


async def in_planner(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``work(*args, **kwargs)`` in the planner thread; the loop serves meanwhile. ``work``
    must be pure: read its inputs, change nothing the loop may be using. How long it waited
    behind other accounts' work and how long it ran are logged at debug level."""
    call = functools.partial(work, *args, **kwargs)
    submitted = time.monotonic()
    started = submitted

    def timed() -> T:
        nonlocal started
        started = time.monotonic()
        return call()

    result = await asyncio.get_running_loop().run_in_executor(_planner(), timed)
    _log.debug(
        "planner.job",
        work=getattr(work, "__name__", "?"),
        waited=round(started - submitted, 3),
        ran=round(time.monotonic() - started, 3),
    )
    return result


async def plan_off_loop(desired: DesiredState, live: LiveState, options: PlanOptions) -> Plan:
    """``build_plan(desired, live, options)`` in the planner thread."""
    return await in_planner(build_plan, desired, live, options)
