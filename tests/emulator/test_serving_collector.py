"""The emulator's serving process keeps its long-lived heap out of the collector's walks.

Its heap is nearly all stored people (~2.8 GB at 1,000 users x 200 contacts); with Python's
thresholds full collections walked it all, for seconds with the GIL held, while no call was
counted. ``reconciler emulator`` serves with the shared collector settings
(``reconciler.collector``), freezes what survives a full collection, and reports the pauses in
``GET /__emulator/stats``.
"""

from __future__ import annotations

import gc
import socket
import sys
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.cli import emulator as emulator_cli
from reconciler.collector import GC_THRESHOLDS, LOOP_SWITCH_INTERVAL, PAUSES
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.emulator.server import serving

USER = "gc@example.com"
AUTH = {"authorization": f"Bearer user:{USER}"}


def walked(obj: object) -> bool:
    """Whether a collection of any generation would walk ``obj``."""
    return any(o is obj for o in gc.get_objects())


def test_the_serve_command_runs_uvicorn_with_the_collector_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``reconciler emulator`` serves with the shared thresholds and switch interval, what
    exists at start-up (the app, state loaded from a file) frozen, and pauses timed; after
    serving, the process's settings are as they were."""
    seen: list[tuple[Any, ...]] = []
    app = create_app(EmulatorConfig())

    def run(self: Any, sockets: Any = None) -> None:
        seen.append(
            (gc.get_threshold(), sys.getswitchinterval(), walked(app), PAUSES in gc.callbacks)
        )

    monkeypatch.setattr(emulator_cli._Server, "run", run)
    before = (gc.get_threshold(), sys.getswitchinterval())
    with socket.socket() as sock:
        emulator_cli.serve(app, sock)
    assert seen == [(GC_THRESHOLDS, LOOP_SWITCH_INTERVAL, False, True)]
    assert (gc.get_threshold(), sys.getswitchinterval()) == before
    assert PAUSES not in gc.callbacks


async def test_stored_people_leave_the_walks_at_the_next_full_collection(
    emulator_app: Starlette,
) -> None:
    """A contact stored while serving is walked until a full collection, and not after: the
    next full collection walks only what was made since. Pauses are counted in the stats."""
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emu", headers=AUTH) as c:
        with serving():
            full_before = PAUSES.full_count
            created = await c.post("/v1/people:createContact", json={"names": [{"givenName": "A"}]})
            assert created.status_code == 200
            book = emulator_app.state.emulator.book(USER)
            assert walked(book)
            gc.collect()
            assert not walked(book)
            stats = (await c.get("/__emulator/stats")).json()
        assert stats["gc_pauses"]["full_count"] >= full_before + 1
        assert stats["gc_pauses"]["full_max"] >= 0.0
