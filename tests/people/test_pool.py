"""No request fails for the lack of a connection: calls wait for the replica's pool.

A replica keeps one connection pool for all its accounts (``open_replica``), at most
``max_connections`` at once. With many passes at once (``--concurrent-passes``) and the pacer
releasing bursts, more requests can be ready than there are connections; they must queue for
one, never fail with ``PoolTimeout`` after the request timeout (which bounds a request on
the wire, not its wait for a turn).
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from typing import Any

from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from reconciler.people import connect
from reconciler.people.targets import IDLE_CONNECTIONS, open_replica
from reconciler.people.transport import ClientConfig
from tests.support.pacing import UNPACED


async def test_many_calls_over_a_small_pool_wait_for_a_connection_and_never_fail() -> None:
    """Sixty reads by twenty accounts at once over a pool of one connection, each answered
    after 100 ms: the last of them waits for the connection three times as long as the
    request timeout, and still every call succeeds at its first attempt."""
    with BackgroundServer(create_app(EmulatorConfig(latency_ms=100))) as server:
        async with (
            open_replica(server.url, pacing=UNPACED.pacing, max_connections=1) as replica,
            AsyncExitStack() as stack,
        ):
            clients = [
                await stack.enter_async_context(
                    connect(
                        server.url,
                        token=f"user:u{i}@example.com",
                        replica=replica,
                        config=ClientConfig(timeout=2.0),
                    )
                )
                for i in range(20)
            ]
            answers = await asyncio.gather(
                *(c.get_person("people/me", "metadata") for c in clients for _ in range(3))
            )
    assert len(answers) == 60
    assert all(a["resourceName"].startswith("people/") for a in answers)
    for client in clients:
        assert client.stats.retries == 0
        assert dict(client.stats.statuses) == {"200": 3}


async def test_a_burst_leaves_at_most_the_idle_bound_of_connections_open() -> None:
    """Forty reads at once open forty connections; once they are answered, the replica keeps
    IDLE_CONNECTIONS of them for reuse and closes the rest: httpcore looks at every idle
    connection (a system call each) on the event loop whenever a request starts or ends, so
    a hundred kept after a burst made every later request cost the loop ~4 ms more."""
    with BackgroundServer(create_app(EmulatorConfig(latency_ms=50))) as server:
        async with (
            open_replica(server.url, pacing=UNPACED.pacing) as replica,
            connect(server.url, token="user:u@example.com", replica=replica) as client,
        ):
            answers = await asyncio.gather(
                *(client.get_person("people/me", "metadata") for _ in range(40))
            )
            assert len(answers) == 40
            pool = replica.transport._pool  # type: ignore[attr-defined]  # httpx keeps it private
            assert 0 < len(pool.connections) <= IDLE_CONNECTIONS
            assert all(c.is_idle() for c in pool.connections)


async def test_a_request_through_the_pool_imports_nothing() -> None:
    """After the first request, a request looks for no module: httpcore asks sniffio which
    async library runs, several times a request, and without sniffio installed each ask was
    a failed import searching ``sys.path`` (system calls, on the event loop)."""
    searches: list[str] = []

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == "_find_and_load":
            searches.append(str(frame.f_locals.get("name")))

    with BackgroundServer(create_app()) as server:
        async with (
            open_replica(server.url, pacing=UNPACED.pacing) as replica,
            connect(server.url, token="user:u@example.com", replica=replica) as client,
        ):
            await client.get_person("people/me", "metadata")
            sys.setprofile(hook)
            try:
                for _ in range(3):
                    await client.get_person("people/me", "metadata")
            finally:
                sys.setprofile(None)
    assert searches == []
