"""How many HTTP requests the client needs: list N contacts and update M, against the floor.

The floor is what the API's batch limits allow at best: ceil(N / 1000) listing pages and
ceil(M / 200) batchUpdateContacts calls. With no fault injected the client must hit it exactly;
with ``--error-rate`` the extra requests are the retries. Counts come from the client's own
``stats`` and, as a cross-check, from the emulator's ``/__emulator/stats`` (which names methods
by their full discovery id, ``people.`` + the client's id). The client runs
with its default pacing (about 180 reads and 90 writes a minute), so wall time includes the
waits a real account would see.

    python bench/client.py [--people 10000] [--updates 1000] [--error-rate 0] [--http]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from reconciler.model.limits import MAX_BATCH_CREATE, MAX_BATCH_UPDATE
from reconciler.people import connect
from reconciler.people.batching import chunks
from reconciler.people.client import PeopleClient
from reconciler.people.pacing import PacingConfig
from reconciler.people.transport import ClientConfig

USER = "bench@example.com"
FIELDS = "names,emailAddresses,phoneNumbers,organizations,metadata"
LIST = "people.connections.list"
UPDATE = "people.batchUpdateContacts"


def person(i: int) -> dict[str, Any]:
    return {
        "names": [{"givenName": f"Given{i}", "familyName": f"Family{i}"}],
        "emailAddresses": [{"value": f"person{i}@example.com", "type": "work"}],
        "phoneNumbers": [{"value": f"+1 650 555 {i % 10000:04d}"}],
        "organizations": [{"name": "Acme", "title": "Engineer"}],
    }


@asynccontextmanager
async def client_for(app: Any, http: bool, config: ClientConfig) -> AsyncIterator[PeopleClient]:
    if http:
        with BackgroundServer(app) as server:
            async with connect(server.url, token=f"user:{USER}", config=config) as client:
                yield client
    else:
        async with connect("embedded", app=app, subject=USER, config=config) as client:
            yield client


async def main(people: int, updates: int, error_rate: float, http: bool) -> int:
    app = create_app(EmulatorConfig(seed=1))
    emulator = app.state.emulator
    roomy = ClientConfig(pacing=PacingConfig.uniform(1e6))
    async with client_for(app, False, roomy) as seeder:
        created = []
        for batch in chunks([person(i) for i in range(people)], MAX_BATCH_CREATE):
            created += await seeder.batch_create(batch, "metadata")
        assert all(result.ok for result in created)
    emulator.stats.clear()
    emulator.configure({"error_rate": error_rate})

    async with client_for(app, http, ClientConfig()) as client:
        started = time.perf_counter()
        listing = await client.list_people(FIELDS)
        listed = time.perf_counter() - started
        chosen = listing.people[:updates]
        bodies = {
            p["resourceName"]: dict(p, names=[{"givenName": "Updated", "familyName": str(i)}])
            for i, p in enumerate(chosen)
        }
        started = time.perf_counter()
        results = {}
        for names in chunks(list(bodies), MAX_BATCH_UPDATE):  # the client sends what it is given
            batch = {name: bodies[name] for name in names}
            results.update(await client.batch_update(batch, "names", "metadata"))
        updated = time.perf_counter() - started
        stats = client.stats
    server = emulator.stats.snapshot()["by_method"]
    failures = sum(not r.ok for r in results.values())

    floor = {LIST: math.ceil(people / 1000), UPDATE: math.ceil(updates / 200)}
    transport = "HTTP (uvicorn, 127.0.0.1)" if http else "in process (ASGITransport)"
    print(f"client bench: {people} contacts listed, {updates} updated, {transport}")
    print(f"error rate injected: {error_rate}")
    print(f"{'method':<36}{'client':>8}{'server':>8}{'floor':>8}  at floor")
    for method in sorted(set(stats.requests) | set(floor)):
        sent = stats.requests.get(method, 0)
        print(
            f"{method:<36}{sent:>8}{server.get('people.' + method, 0):>8}{floor.get(method, 0):>8}"
            f"  {'yes' if sent == floor.get(method) else 'NO'}"
        )
    print(f"statuses: {dict(stats.statuses)}  retries: {stats.retries}  429s: {stats.throttled}")
    print(
        f"listed {len(listing.people)} in {listed:.2f}s; updated {len(results)} in {updated:.2f}s"
    )
    print(f"failed updates: {failures}")
    at_floor = all(stats.requests.get(m, 0) == n for m, n in floor.items())
    return 0 if at_floor or error_rate else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=1_000)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--http", action="store_true", help="serve the emulator over uvicorn")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    raise SystemExit(asyncio.run(main(args.people, args.updates, args.error_rate, args.http)))
