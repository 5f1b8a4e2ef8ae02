"""Fixtures for the client tests: an emulator and a client sharing one manual clock.

The client sleeps on :class:`ManualClock` (backoff, Retry-After, pacing) and the emulator reads
the same clock for quotas and sync-token lifetimes, so minutes of quota windows pass in
milliseconds and no test sleeps for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.people.client import PeopleClient
from tests.support.clients import START, ClientFactory


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(clock: ManualClock) -> Starlette:
    return create_app(EmulatorConfig(), clock=clock)


@pytest.fixture
async def make_client(app: Starlette, clock: ManualClock) -> AsyncIterator[ClientFactory]:
    factory = ClientFactory(app, clock)
    yield factory
    for http in factory.opened:
        await http.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> PeopleClient:
    return make_client()
