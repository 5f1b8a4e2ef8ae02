"""Fixtures for the client tests: an emulator and a client sharing one manual clock.

The client sleeps on :class:`ManualClock` (backoff, Retry-After, pacing) and the emulator reads
the same clock for quotas and sync-token lifetimes, so minutes of quota windows pass in
milliseconds and no test sleeps for real.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.people.client import PeopleClient
from reconciler.people.pacing import PacingConfig
from reconciler.people.retry import RetryPolicy
from reconciler.people.transport import ClientConfig, Transport

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
BASE_URL = "http://emulator.test/"


class Faulty(httpx.AsyncBaseTransport):
    """Wraps a transport: refuses the next ``refuse`` connections, or delivers the next ``lose``
    requests and then loses their answers (the network failing, not the server)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, refuse: int = 0, lose: int = 0) -> None:
        self.inner = inner
        self.refuse = refuse
        self.lose = lose

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse:
            self.refuse -= 1
            raise httpx.ConnectError("connection refused", request=request)
        response = await self.inner.handle_async_request(request)
        if self.lose:
            self.lose -= 1
            await response.aread()
            raise httpx.ReadError("connection reset", request=request)
        return response


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(clock: ManualClock) -> Starlette:
    return create_app(EmulatorConfig(), clock=clock)


class ClientFactory:
    """Builds clients over the in-process app (optionally through a fault-injecting transport)."""

    def __init__(self, app: Starlette, clock: ManualClock) -> None:
        self.app = app
        self.clock = clock
        self.opened: list[httpx.AsyncClient] = []

    def __call__(
        self,
        *,
        token: str | None = "user:tester@example.com",
        config: ClientConfig | None = None,
        refuse: int = 0,
        lose: int = 0,
        auth: httpx.Auth | None = None,
    ) -> PeopleClient:
        inner = httpx.ASGITransport(app=self.app)
        transport = Faulty(inner, refuse=refuse, lose=lose) if refuse or lose else inner
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        http = httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers, auth=auth)
        self.opened.append(http)
        return PeopleClient(
            Transport(
                http,
                account="tester@example.com",
                config=config or ClientConfig(),
                clock=self.clock,
                rng=random.Random(7),
            )
        )


@pytest.fixture
async def make_client(app: Starlette, clock: ManualClock) -> AsyncIterator[ClientFactory]:
    factory = ClientFactory(app, clock)
    yield factory
    for http in factory.opened:
        await http.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> PeopleClient:
    return make_client()


def fast_config(**retry: Any) -> ClientConfig:
    """Generous pacing (so the server's quota, not ours, decides) and the given retry policy."""
    return ClientConfig(
        retry=RetryPolicy(**retry),
        pacing=PacingConfig(reads_per_minute=100_000, writes_per_minute=100_000),
    )
