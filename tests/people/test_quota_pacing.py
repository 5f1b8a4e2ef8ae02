"""Pacing set to the emulator's quotas never meets a 429, because both count Google's units.

The emulator charges each call what Google states it costs (a batch create: 6 critical writes
and 6 critical reads); a replica whose budgets are the project's limits, per user and per
project, must then never be refused. Time is a manual clock shared by both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.people.client import PeopleClient
from reconciler.people.pacing import Pacer, PacingConfig
from reconciler.people.transport import Transport
from tests.support.clients import BASE_URL
from tests.support.persons import new_person

FIELDS = "names,metadata"
# Per user and per project, units a minute, the emulator's and the replica's alike.
LIMITS = {"read": 60, "write": 30, "project_read": 150, "project_write": 60}


@asynccontextmanager
async def users(
    app: Any, pacer: Pacer, clock: ManualClock, count: int
) -> AsyncIterator[list[PeopleClient]]:
    """``count`` users of one project, each a client of ``app`` drawing on ``pacer``."""
    opened: list[httpx.AsyncClient] = []
    clients: list[PeopleClient] = []
    for i in range(count):
        user = f"user{i}@example.com"
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer user:{user}"},
        )
        opened.append(http)
        clients.append(PeopleClient(Transport(http, account=user, clock=clock, pacer=pacer)))
    try:
        yield clients
    finally:
        for http in opened:
            await http.aclose()


async def test_a_domain_paced_at_the_quotas_never_meets_a_429(
    app: Starlette, clock: ManualClock
) -> None:
    """Four users of one project each create 80 contacts in four batches, list them and update
    them in two batches, at once. With the replica's budgets equal to the emulator's quotas,
    counted in Google's units, no call is answered 429 (paced by calls, the batches' 6 units
    each overran the write quotas within seconds)."""
    app.state.emulator.configure({f"{k}_quota_per_minute": v for k, v in LIMITS.items()})
    pacing = PacingConfig(
        reads_per_minute=LIMITS["read"],
        writes_per_minute=LIMITS["write"],
        project_reads_per_minute=LIMITS["project_read"],
        project_writes_per_minute=LIMITS["project_write"],
    )
    pacer = Pacer(pacing, clock=clock)

    async def work(client: PeopleClient) -> None:
        created = []
        for batch in range(4):
            people = [new_person(batch * 20 + i) for i in range(20)]
            created += await client.batch_create(people, FIELDS)
        assert all(result.ok for result in created)
        listing = await client.list_people(FIELDS)
        assert len(listing.people) == 80
        updates = {
            str(person["resourceName"]): dict(person, names=[{"givenName": f"U{n}"}])
            for n, person in enumerate(listing.people)
        }
        names = list(updates)
        for half in (names[:40], names[40:]):
            done = await client.batch_update({n: updates[n] for n in half}, "names", FIELDS)
            assert all(result.ok for result in done.values())

    start = clock.now()
    async with users(app, pacer, clock, 4) as clients:
        await asyncio.gather(*(work(client) for client in clients))
    refused = {
        (method, status)
        for client in clients
        for (method, status) in client.stats.by_method_status
        if status != "200"
    }
    assert refused == set()
    assert sum(client.stats.throttled for client in clients) == 0
    # 24 batch writes of 6 units at 60 a minute for the project: at least 2 minutes
    assert clock.now() - start >= 120


class Pause:
    """The emulator, pausing: a request that reaches it between ``start`` and ``end`` (on the
    shared manual clock) is taken in only at ``end``, as a server stalled by a long garbage
    collection or a busy loop takes in what queued meanwhile."""

    def __init__(self, app: Starlette, clock: ManualClock, start: float, end: float) -> None:
        self.app = app
        self.clock = clock
        self.start = start
        self.end = end
        self.held = 0  # requests that waited for the end of the pause

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.start <= self.clock.now() < self.end:
            self.held += 1
            while self.clock.now() < self.end:
                await self.clock.sleep(0.1)
        await self.app(scope, receive, send)


async def test_calls_the_server_takes_in_late_never_meet_a_429_a_minute_later(
    app: Starlette, clock: ManualClock
) -> None:
    """Sixteen users list over and over against a project read quota of 60 a minute, the
    replica's budget set to it. The server pauses for 20 s in the third minute and counts the
    calls sent meanwhile only when it takes them in, at the end of the pause; a minute later
    the replica must still hold those calls' units, since they left the server's minute only
    then, so no call is answered 429 (counted from when they were sent, they left the
    replica's minute up to 20 s too early, and the server refused what it let through)."""
    app.state.emulator.configure({"project_read_quota_per_minute": 60})
    pacer = Pacer(PacingConfig(project_reads_per_minute=60), clock=clock)
    start = clock.now()
    paused = Pause(app, clock, start + 130, start + 150)

    async def work(client: PeopleClient) -> None:
        while clock.now() < start + 300:
            await client.list_people(FIELDS)

    async with users(paused, pacer, clock, 16) as clients:
        await asyncio.gather(*(work(client) for client in clients))
    assert paused.held == 16  # every user had a call in flight in the pause
    assert app.state.emulator.stats.by_status.get("429", 0) == 0
    listed = app.state.emulator.stats.by_method["people.people.connections.list"]
    assert listed >= 0.9 * 60 * 5  # five minutes at the budget, less its slack
