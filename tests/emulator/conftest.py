"""Fixtures for the emulator's own tests: an in-process client with a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.emulator import Emulator, EmulatorConfig, create_app

TOKEN = "user:alice@example.com"


@pytest.fixture
def clock() -> ManualClock:
    """Emulator time, moved by hand."""
    return ManualClock()


@pytest.fixture
def app(clock: ManualClock) -> Starlette:
    """An in-memory emulator on the fake clock, every knob off."""
    return create_app(EmulatorConfig(), clock=clock)


@pytest.fixture
def emulator(app: Starlette) -> Emulator:
    """The backend of ``app``."""
    backend: Emulator = app.state.emulator
    return backend


@pytest.fixture
async def api(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` authenticated as alice."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://emulator",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client
