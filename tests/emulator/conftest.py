"""Fixtures for the emulator's own tests: an in-process client with a fake clock, and Google's
own client (google-api-python-client) over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.emulator import Emulator, EmulatorConfig, create_app
from tests.support.clients import emulator_client
from tests.support.world import TOKEN


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
    async with emulator_client(app, TOKEN) as client:
        yield client


@pytest.fixture
def people(emulator_server: Any) -> Any:
    """A People API service object pointed at the emulator over HTTP, authenticated as alice."""
    return build(
        "people",
        "v1",
        credentials=Credentials(TOKEN),
        client_options={"api_endpoint": emulator_server.url},
        static_discovery=True,
        cache_discovery=False,
    )
