"""No request fails for the lack of a connection: calls wait for the replica's pool.

A replica keeps one connection pool for all its accounts (``open_replica``), at most
``max_connections`` at once. With many passes at once (``--concurrent-passes``) and the pacer
releasing bursts, more requests can be ready than there are connections; they must queue for
one, never fail with ``PoolTimeout`` after the request timeout (which bounds a request on
the wire, not its wait for a turn).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from reconciler.people import connect
from reconciler.people.pacing import PacingConfig
from reconciler.people.targets import open_replica
from reconciler.people.transport import ClientConfig

UNPACED = PacingConfig.uniform(1_000_000)


async def test_many_calls_over_a_small_pool_wait_for_a_connection_and_never_fail() -> None:
    """Sixty reads by twenty accounts at once over a pool of one connection, each answered
    after 100 ms: the last of them waits for the connection three times as long as the
    request timeout, and still every call succeeds at its first attempt."""
    with BackgroundServer(create_app(EmulatorConfig(latency_ms=100))) as server:
        async with (
            open_replica(server.url, pacing=UNPACED, max_connections=1) as replica,
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
