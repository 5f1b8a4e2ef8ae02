"""A poll that only sees our own writes echoing back starts no pass; anyone else's edit does.

The real worker, backend and poller over the in-process emulator; the controller's clock is moved
by hand, so a poll happens exactly when the test says.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.controller.account import AccountWorker, Intervals
from reconciler.emulator import create_app
from tests.support.eventually import eventually_async
from tests.support.workers import open_worker

USER = "a@example.com"
POLL = 30.0


@pytest.fixture
async def worker(clock: Any, tmp_path: Path) -> AsyncIterator[tuple[AccountWorker, Any]]:
    app = create_app()
    async with AsyncExitStack() as stack:
        intervals = Intervals(poll=POLL, resync=3600, debounce=0.1)
        worker = await open_worker(stack, app, USER, tmp_path, clock=clock, intervals=intervals)
        task = asyncio.create_task(worker.run())
        try:
            yield worker, app
        finally:
            worker.shut_down()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def passes(worker: AccountWorker, result: str = "success") -> float:
    value = worker.metrics.registry.get_sample_value(
        "reconciler_reconcile_total", {"account": worker.label, "result": result}
    )
    return value or 0.0


def polls(worker: AccountWorker) -> float:
    value = worker.metrics.registry.get_sample_value(
        "reconciler_polls_total", {"account": worker.label, "result": "ok"}
    )
    return value or 0.0


async def test_a_poll_of_our_own_write_triggers_no_pass(
    worker: tuple[AccountWorker, Any], clock: Any
) -> None:
    """After the start pass creates a contact, the poll that lists it (our write, our etag)
    queues nothing; an out-of-band edit of it afterwards does start a pass, which corrects it
    in one write."""
    w, app = worker
    await eventually_async(lambda: passes(w) == 1, "the start pass")
    assert w.passes == 1
    assert len(w.backend.written) == 1  # type: ignore[attr-defined]

    clock.advance(POLL)
    await eventually_async(lambda: polls(w) == 1, "the first incremental poll")
    await clock.run_ready()
    assert w.passes == 1
    assert passes(w) == 1
    assert len(w.queue) == 0

    resource_name = next(iter(w.backend.written))  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as admin:
        edited = await admin.post(
            "/__emulator/edit",
            json={
                "user": USER,
                "resourceName": resource_name,
                "person": {"names": [{"givenName": "Mallory"}]},
                "updatePersonFields": "names",
            },
        )
        edited.raise_for_status()
    clock.advance(POLL)
    await eventually_async(lambda: passes(w) == 2, "the drift pass")
    assert w.passes == 2
    # The poll saw a version newer than our write, so the pass did not send our old etag.
    stats = w.backend.client.stats.by_method_status  # type: ignore[attr-defined]
    assert stats[("people.batchUpdateContacts", "200")] == 1
    assert stats[("people.batchUpdateContacts", "400")] == 0
