"""Errors, retries, Retry-After, quotas and lost answers, against the in-process emulator.

Faults come from the emulator's own knobs (error_rate, quotas) or from a transport that drops
connections; the clock is manual, so every wait is virtual.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.model.limits import MAX_BATCH_CREATE, MAX_BATCH_UPDATE
from reconciler.people.batching import chunks
from reconciler.people.client import PeopleClient
from reconciler.people.errors import (
    InvalidArgument,
    MissingEtag,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    StaleEtag,
    TransportError,
    Unauthenticated,
    UnknownOutcome,
)
from reconciler.people.pacing import Pacer, PacingConfig
from reconciler.people.transport import ClientConfig, Transport
from tests.support.clients import BASE_URL, ClientFactory, fast_config
from tests.support.persons import new_person

FIELDS = "names,metadata"


def knobs(app: Starlette, **changes: object) -> None:
    app.state.emulator.configure(changes)


async def test_terminal_errors_reach_the_caller_untried(client: PeopleClient) -> None:
    """Stale etag, missing etag, not found and invalid argument: one request each, no retry."""
    created = await client.create_contact(new_person(1), FIELDS)
    await client.update_contact(dict(created, names=[{"givenName": "B"}]), "names")
    stale = {k: v for k, v in created.items() if k != "metadata"}
    with pytest.raises(StaleEtag):
        await client.update_contact(stale, "names")
    with pytest.raises(MissingEtag):
        await client.update_contact({"resourceName": created["resourceName"]}, "names")
    with pytest.raises(NotFound):
        await client.get_person("people/c123456789", FIELDS)
    with pytest.raises(InvalidArgument):
        await client.list_people("notAField")
    assert client.stats.retries == 0


async def test_no_token_is_unauthenticated(make_client: ClientFactory) -> None:
    """Without a bearer token the emulator answers 401, which is terminal."""
    with pytest.raises(Unauthenticated):
        await make_client(token=None).list_people(FIELDS)


async def test_permission_denied_is_terminal(clock: ManualClock) -> None:
    """Google's 403 (here from a stand-in for a Workspace that forbids the scope) is terminal."""
    calls = 0

    def forbid(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            403,
            json={"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}},
        )

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(forbid), base_url="http://google.test/"
    ) as http:
        with pytest.raises(PermissionDenied):
            await PeopleClient(Transport(http, clock=clock)).list_people(FIELDS)
    assert calls == 1


async def test_server_errors_are_retried_up_to_the_bound(
    make_client: ClientFactory, app: Starlette, clock: ManualClock
) -> None:
    """With every request failing, exactly max_attempts requests are made, then ServerError."""
    knobs(app, error_rate=1.0)
    client = make_client(config=fast_config(max_attempts=4, base_delay=1.0, max_delay=8.0))
    with pytest.raises(ServerError):
        await client.list_people(FIELDS)
    assert client.stats.requests["people.connections.list"] == 4
    assert client.stats.retries == 3
    assert len(clock.sleeps) == 3
    assert all(0 <= wait <= cap for wait, cap in zip(clock.sleeps, [1, 2, 4], strict=True))


async def test_transient_errors_are_absorbed(make_client: ClientFactory, app: Starlette) -> None:
    """With a third of requests failing, every read and update still succeeds thanks to
    retries (creates are not resent after a 5xx; see the next test)."""
    client = make_client(config=fast_config(max_attempts=10))
    created = await client.batch_create([new_person(i) for i in range(200)], FIELDS)
    knobs(app, error_rate=0.3, seed=3)
    updates = {
        str(r.resource_name): dict(r.person or {}, names=[{"givenName": f"U{i}"}])
        for i, r in enumerate(created)
    }
    for _ in range(3):
        results = await client.batch_update(updates, "names", FIELDS)
        assert all(result.ok for result in results.values())
        updates = {name: dict(r.person or {}) for name, r in results.items()}
        listing = await client.list_people(FIELDS)
        assert len(listing.people) == 200
    assert client.stats.retries > 0


async def test_retry_after_is_respected(
    make_client: ClientFactory, app: Starlette, clock: ManualClock
) -> None:
    """A 429 makes the client wait at least the Retry-After the emulator sent, then succeed."""
    knobs(app, read_quota_per_minute=2)
    client = make_client(config=fast_config())
    for _ in range(2):
        await client.list_people(FIELDS)
    start = clock.now()
    listing = await client.list_people(FIELDS)
    assert listing.complete
    assert client.stats.by_method_status[("people.connections.list", "429")] == 1
    assert client.stats.throttled == 1
    assert clock.now() - start >= 59.0  # the window frees up a minute after the first call


async def test_rate_limited_surfaces_when_retries_are_exhausted(
    make_client: ClientFactory, app: Starlette
) -> None:
    """With one attempt allowed, a 429 reaches the caller as RateLimited with its Retry-After."""
    knobs(app, read_quota_per_minute=1)
    client = make_client(config=fast_config(max_attempts=1))
    await client.list_people(FIELDS)
    with pytest.raises(RateLimited) as limited:
        await client.list_people(FIELDS)
    assert limited.value.retry_after is not None
    assert limited.value.retry_after > 0
    assert limited.value.quota_metric == "people.googleapis.com/critical_read_requests"


async def test_refused_connections_are_retried_even_for_creates(
    make_client: ClientFactory,
) -> None:
    """A request that never left is safe to resend, create or not."""
    client = make_client(refuse=2)
    created = await client.create_contact(new_person(1), FIELDS)
    assert created["resourceName"]
    assert client.stats.requests["people.createContact"] == 3


async def test_a_lost_answer_to_a_create_is_an_unknown_outcome(
    make_client: ClientFactory,
) -> None:
    """The server created the contacts but the answer was lost: UnknownOutcome, no resend."""
    client = make_client(lose=1)
    results = await client.batch_create([new_person(i) for i in range(3)], FIELDS)
    assert all(isinstance(result.error, UnknownOutcome) for result in results)
    assert client.stats.requests["people.batchCreateContacts"] == 1
    assert len((await client.list_people(FIELDS)).people) == 3  # they do exist: never resend

    single = make_client(lose=1)
    with pytest.raises(UnknownOutcome, match="list the address book"):
        await single.create_contact(new_person(9), FIELDS)


async def test_a_server_error_on_a_create_is_never_resent(
    make_client: ClientFactory, app: Starlette
) -> None:
    """A 5xx answer to a create does not say whether the contacts were made: the transport
    hands it back after one request instead of sending the create again (a duplicate)."""
    knobs(app, error_rate=1.0)
    client = make_client(config=fast_config(max_attempts=6))
    results = await client.batch_create([new_person(i) for i in range(3)], FIELDS)
    assert all(isinstance(result.error, ServerError) for result in results)
    assert client.stats.requests["people.batchCreateContacts"] == 1
    with pytest.raises(ServerError):
        await client.create_contact(new_person(9), FIELDS)
    assert client.stats.requests["people.createContact"] == 1


async def test_a_lost_answer_to_a_read_is_retried(make_client: ClientFactory) -> None:
    """Reads are idempotent: a lost answer is a retryable TransportError."""
    client = make_client(lose=1)
    assert (await client.list_people(FIELDS)).complete
    assert client.stats.statuses["transport"] == 1
    stubborn = make_client(refuse=10, config=fast_config(max_attempts=2))
    with pytest.raises(TransportError, match="ConnectError"):
        await stubborn.list_people(FIELDS)


@pytest.mark.parametrize(
    ("client_per_minute", "expect_429"), [(24.0, False), (540.0, True)], ids=["matched", "adaptive"]
)
async def test_two_thousand_writes_under_a_write_quota_never_surface_a_429(
    make_client: ClientFactory,
    app: Starlette,
    clock: ManualClock,
    client_per_minute: float,
    expect_429: bool,
) -> None:
    """2,000 creates and 2,000 updates under a write quota scaled down to 24 units a minute
    (four batch calls of 6 units).

    With pacing matched to the quota no 429 is ever sent back; with pacing far above it the
    buckets halve on each 429, honour Retry-After and the retries absorb them. Either way
    every write succeeds and no RateLimited reaches the caller.
    """
    knobs(app, write_quota_per_minute=24)
    client = make_client(
        config=ClientConfig(pacing=PacingConfig(writes_per_minute=client_per_minute))
    )
    start = clock.now()
    created = []
    for batch in chunks([new_person(i) for i in range(2000)], MAX_BATCH_CREATE):
        created += await client.batch_create(batch, FIELDS)
    assert all(result.ok for result in created)
    updates = {
        str(r.resource_name): dict(r.person or {}, names=[{"givenName": f"U{i}"}])
        for i, r in enumerate(created)
    }
    updated = {}
    for names in chunks(list(updates), MAX_BATCH_UPDATE):
        updated.update(await client.batch_update({n: updates[n] for n in names}, "names", FIELDS))
    assert all(result.ok for result in updated.values())
    assert len(updated) == 2000
    assert client.stats.requests["people.batchCreateContacts"] >= 10
    assert (client.stats.throttled > 0) is expect_429
    # 20 write requests of 6 units at 24 a minute: the last four go four minutes after the first
    assert clock.now() - start >= 4 * 60


async def test_accounts_sharing_a_pacer_never_meet_the_project_quota(
    app: Starlette, clock: ManualClock
) -> None:
    """Four users of one project list at once against a per-project read quota: with the
    replica's shared budget set to that quota, no request is answered 429."""
    knobs(app, project_read_quota_per_minute=20)
    pacer = Pacer(PacingConfig(reads_per_minute=180, project_reads_per_minute=20), clock=clock)
    opened: list[httpx.AsyncClient] = []
    clients = []
    for i in range(4):
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer user:user{i}@example.com"},
        )
        opened.append(http)
        transport = Transport(http, account=f"user{i}@example.com", clock=clock, pacer=pacer)
        clients.append(PeopleClient(transport))

    async def listings(client: PeopleClient) -> None:
        for _ in range(10):
            assert (await client.list_people(FIELDS)).complete

    try:
        await asyncio.gather(*(listings(c) for c in clients))
    finally:
        for http in opened:
            await http.aclose()
    statuses = {status for c in clients for (_, status) in c.stats.by_method_status}
    assert statuses == {"200"}
