"""The planner thread plans off the event loop, in forked children too."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue

from reconciler.apply.planner import plan_off_loop
from reconciler.model import LiveState
from reconciler.plan.options import PlanOptions
from tests.support.eventually import LIMIT
from tests.support.manifests import book


def _plan_count() -> int:
    plan = asyncio.run(plan_off_loop(book(3), LiveState(), PlanOptions()))
    return len(plan.items)


def _plan_in_child(results: multiprocessing.Queue[int]) -> None:
    results.put(_plan_count())


def test_a_forked_child_plans_with_a_planner_of_its_own() -> None:
    """A process forked after it planned (the CLI run in a forked worker, a multiprocessing
    fork) does not inherit the planner's thread: its plans still get made."""
    assert _plan_count() == 3
    ctx = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[int] = ctx.Queue()
    child = ctx.Process(target=_plan_in_child, args=(results,))
    child.start()
    try:
        assert results.get(timeout=LIMIT) == 3
    except queue.Empty:
        raise AssertionError("the forked child never got its plan") from None
    finally:
        child.join(LIMIT)
        if child.is_alive():
            child.kill()
