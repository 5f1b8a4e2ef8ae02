"""People clients for tests, over the in-process emulator, optionally through a failing network.

The client tests' fixtures (``tests/people/conftest.py``) build them with one manual clock
shared by the client and the emulator.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.people.client import PeopleClient
from reconciler.people.retry import RetryPolicy
from reconciler.people.transport import ClientConfig, Transport
from tests.support.pacing import UNPACED

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


def fast_config(**retry: Any) -> ClientConfig:
    """Generous pacing (so the server's quota, not ours, decides) and the given retry policy."""
    return ClientConfig(
        retry=RetryPolicy(**retry),
        pacing=UNPACED.pacing,
    )


def emulator_client(app: Starlette, token: str | None) -> httpx.AsyncClient:
    """A plain HTTP client of the emulator ``app`` in process, with the bearer ``token``
    (``None``: no Authorization header), for tests that speak to the API directly."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator", headers=headers
    )
