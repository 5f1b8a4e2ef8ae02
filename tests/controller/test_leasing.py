"""The controller's write lease: taken only by passes that write, kept across passes that follow,
given back when the account goes idle; counted in lease writes on the emulator.

Wall time is a manual clock, and the background renewal sleeps until the test says so, so a
count of lease writes is exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.lease import LEASE_TTL, Lease, LeaseHeld, LeaseLost
from reconciler.apply.lease_record import LeaseRecord, find_lease_group, force_unlock
from reconciler.clock import ManualClock, SystemClock
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore
from reconciler.controller.leasing import LEASE_RECHECK, PassLease, lease_wait
from reconciler.emulator import create_app
from reconciler.model import DesiredState
from reconciler.people import connect
from reconciler.people.client import PeopleClient
from reconciler.plan.options import PlanOptions
from tests.support.eventually import LIMIT, eventually_async
from tests.support.held_calls import HeldCall, statuses
from tests.support.leases import Ticks, claimant
from tests.support.manifests import contact_yaml
from tests.support.pacing import UNPACED

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
TOKEN = "user:a@example.com"


class Book:
    """One emulated address book, its request counts, and clients onto it."""

    def __init__(self) -> None:
        self.app = create_app()
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://e"
        )

    async def calls(self, method: str) -> int:
        stats = (await self.http.get("/__emulator/stats")).json()["by_method"]
        return int(stats.get(method, 0))

    async def lease_writes(self) -> int:
        """Group creates and updates: the manifests here have no groups, so all are the lease's."""
        return await self.calls("people.contactGroups.create") + await self.calls(
            "people.contactGroups.update"
        )


@pytest.fixture
async def book() -> AsyncIterator[Book]:
    emulated = Book()
    yield emulated
    await emulated.http.aclose()


@pytest.fixture
async def client(book: Book) -> AsyncIterator[PeopleClient]:
    async with connect("embedded", app=book.app, token=TOKEN, config=UNPACED) as people:
        yield people


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def ticks(clock: ManualClock) -> Ticks:
    return Ticks(clock)


@pytest.fixture
def backend(
    client: PeopleClient, tmp_path: Path, clock: ManualClock, ticks: Ticks
) -> Iterator[ApplyBackend]:
    with CreateJournal(tmp_path / "journal.jsonl") as journal:
        lease = claimant(client, tmp_path, "controller", ticks)
        settings = ApplySettings(plan=PlanOptions(owner="o", prune=True))
        yield ApplyBackend(client, journal, settings, lease=lease)


def desired(tmp_path: Path, *docs: str) -> DesiredState:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "c.yaml").write_text("---\n".join(docs))
    store = DesiredStore([folder])
    assert store.reload().ok
    assert store.state is not None
    return store.state


def held(backend: ApplyBackend) -> Lease:
    assert backend.lease is not None
    return backend.lease


def leasing(backend: ApplyBackend) -> PassLease:
    assert backend.leasing is not None
    return backend.leasing


async def given_back(backend: ApplyBackend) -> None:
    backend.between_passes(None)
    await eventually_async(lambda: not held(backend).holding, "the lease to be given back")


async def given_names(client: PeopleClient) -> list[str]:
    listing = await client.list_people(["names"])
    return sorted(p["names"][0]["givenName"] for p in listing.people)


async def test_a_converge_costs_a_claim_and_a_release_and_idle_passes_no_lease_write(
    backend: ApplyBackend, book: Book, client: PeopleClient, tmp_path: Path, clock: ManualClock
) -> None:
    """From empty, the first pass claims the lease (creating its group) and writes; going idle
    gives it back once a listing shows the creates: two lease writes. Then an hour of passes
    with nothing to write, one a minute, costs no lease write at all (holding it for the hour
    would have cost 90 renewals, one per 40 s)."""
    state = desired(tmp_path, contact_yaml("a", "Ann"), contact_yaml("b", "Bob"))
    result = await backend.apply(state)
    assert result.converged
    assert await book.calls("people.people.connections.list") == 1  # the claim kept its plan
    assert await given_names(client) == ["Ann", "Bob"]
    assert held(backend).holding
    await given_back(backend)
    assert await book.lease_writes() == 2
    assert LeaseRecord.of(await find_lease_group(client)) is None
    for _minute in range(60):
        clock.advance(60)
        assert (await backend.apply(state)).converged
        backend.between_passes(None)
    assert await book.lease_writes() == 2
    assert not held(backend).holding


async def test_a_held_lease_is_kept_across_passes_and_renewed_only_below_half_its_ttl(
    backend: ApplyBackend, book: Book, client: PeopleClient, tmp_path: Path, clock: ManualClock
) -> None:
    """A pass due soon finds the lease still held: with more than half the ttl left it writes
    with no lease call and no second listing; with less, one renewal first."""
    await backend.apply(desired(tmp_path, contact_yaml("a", "Ann")))
    pass_lease = leasing(backend)
    backend.between_passes(10.0)  # the next pass comes well within the ttl: kept
    await eventually_async(lambda: not pass_lease.resource_names(), "a listing to show the create")
    assert held(backend).holding
    writes, listings = await book.lease_writes(), await book.calls("people.people.connections.list")
    clock.advance(LEASE_TTL / 2 - 20)
    await backend.apply(desired(tmp_path, contact_yaml("a", "Anna")))
    assert await book.lease_writes() == writes
    assert await book.calls("people.people.connections.list") == listings + 1
    clock.advance(40)  # less than half the ttl left now
    await backend.apply(desired(tmp_path, contact_yaml("a", "Annie")))
    assert await book.lease_writes() == writes + 1
    assert await given_names(client) == ["Annie"]
    assert held(backend).expires == clock.now() + LEASE_TTL


async def test_a_pass_that_claims_the_lease_reads_again_so_nothing_is_created_twice(
    backend: ApplyBackend, client: PeopleClient, tmp_path: Path, clock: ManualClock
) -> None:
    """Between the pass's first listing (taken without the lease) and its claim, an apply on
    another machine takes the lease, creates the same contact and gives the lease back. The
    lease group's etag changed, so the claim reads again and finds the contact: one copy,
    not two."""
    state = desired(tmp_path, contact_yaml("a", "Ann"))
    other = claimant(client, tmp_path, "ci", Ticks(clock))
    gateway: Any = backend._gateway
    first_listing = gateway.list_people
    listings = 0

    async def listing() -> Any:
        nonlocal listings
        listings += 1
        people = await first_listing()
        if listings == 1:  # another writer, right after our unleased read
            with CreateJournal(tmp_path / "ci-journal.jsonl") as journal:
                async with other.held():
                    settings = ApplySettings(plan=PlanOptions(owner="o"))
                    await converge(ClientGateway(client), journal, state, settings)
        return people

    gateway.list_people = listing
    result = await backend.apply(state)
    assert result.converged
    assert listings == 2
    assert await given_names(client) == ["Ann"]


async def test_another_writers_lease_keeps_the_pass_from_writing_and_names_the_holder(
    backend: ApplyBackend, book: Book, client: PeopleClient, tmp_path: Path, clock: ManualClock
) -> None:
    """While an apply elsewhere holds the lease, a pass with writes reads and plans, then stops
    before writing anything: LeaseHeld names the holder and its expiry, and the worker is told
    to look again by that expiry (at most LEASE_RECHECK seconds)."""
    other = claimant(client, tmp_path, "ci", clock)
    await other.acquire()
    writes = await book.lease_writes()
    with pytest.raises(LeaseHeld) as refused:
        await backend.apply(desired(tmp_path, contact_yaml("a", "Ann")))
    assert await given_names(client) == []
    assert await book.lease_writes() == writes
    delay, why = lease_wait(refused.value, clock.now())
    assert "ci@ci" in why
    assert "2026-01-01T00:02:00Z" in why
    assert delay == LEASE_RECHECK
    assert lease_wait(refused.value, clock.now(), recheck=7.0)[0] == 7.0  # a shorter bound
    await other.release()
    assert (await backend.apply(desired(tmp_path, contact_yaml("a", "Ann")))).converged


async def test_a_lease_lost_mid_pass_stops_that_pass_writing(
    backend: ApplyBackend, client: PeopleClient, tmp_path: Path, clock: ManualClock, ticks: Ticks
) -> None:
    """Someone breaks the lease and another run takes it while a pass writes: the renewal finds
    out, the pass is cancelled with LeaseLost and the lease is dropped without a write (the new
    holder's record is left alone); the next pass waits for the new holder."""
    gateway: Any = backend._gateway
    writing = asyncio.Event()

    async def slow_create(_bodies: Any, *, before_send: Any) -> Any:
        writing.set()
        await asyncio.Event().wait()  # the batch create takes as long as it takes

    gateway.batch_create = slow_create
    task = asyncio.create_task(backend.apply(desired(tmp_path, contact_yaml("a", "Ann"))))
    await eventually_async(writing.is_set, "the pass to write under its lease")
    await force_unlock(client, held(backend).lease_id)
    other = claimant(client, tmp_path, "ci", clock)
    await other.acquire()
    clock.advance(LEASE_TTL / 3)
    ticks.queue.put_nowait(None)
    with pytest.raises(LeaseLost, match="ci@ci"):
        await task
    assert not held(backend).holding
    record = LeaseRecord.of(await find_lease_group(client))
    assert record is not None
    assert record.lease_id == other.lease_id
    with pytest.raises(LeaseHeld, match="ci@ci"):
        await backend.apply(desired(tmp_path, contact_yaml("a", "Ann")))


async def test_an_idle_account_keeps_renewing_while_its_creates_are_not_listed(
    backend: ApplyBackend,
    book: Book,
    client: PeopleClient,
    tmp_path: Path,
    clock: ManualClock,
    ticks: Ticks,
) -> None:
    """The lease is given back only once a listing shows the pass's creates: a listing that
    lags keeps it held (and renewed) rather than letting another writer in to create them
    again; once they show, it is released."""
    await backend.apply(desired(tmp_path, contact_yaml("a", "Ann")))
    pass_lease = leasing(backend)
    assert pass_lease.journal.resource_names()  # the create is journaled until listed
    await book.http.patch("/__emulator/config", json={"list_lag_ms": 3_600_000})
    looks = asyncio.Event()

    class Stalled(SystemClock):
        """The real time, but the settle's wait before a further look never ends."""

        async def sleep(self, seconds: float) -> None:
            looks.set()
            await asyncio.Event().wait()

    pass_lease.clock = Stalled()
    backend.between_passes(None)
    await eventually_async(looks.is_set, "a second look at the listing")
    assert held(backend).holding
    clock.advance(LEASE_TTL / 3)
    ticks.queue.put_nowait(None)

    async def renewed() -> bool:
        record = LeaseRecord.of(await find_lease_group(client))
        return record is not None and record.expires == clock.now() + LEASE_TTL

    await eventually_async(renewed, "a renewal while the creates are unlisted")
    await backend.close(within=0.0)  # stopping: bounded, then given back anyway
    assert LeaseRecord.of(await find_lease_group(client)) is None


async def test_creates_a_listing_showed_before_the_release_are_never_created_again(
    backend: ApplyBackend, book: Book, tmp_path: Path
) -> None:
    """The idle account gives its lease back once a listing shows its create, but the create
    stays in the journal until a pass of its own reads it: when a later listing lags behind
    the one that showed it (another replica of the API answering), that pass fetches the
    contact by name instead of creating it again."""
    state = desired(tmp_path, contact_yaml("a", "Ann"))
    await backend.apply(state)
    await given_back(backend)
    await book.http.patch("/__emulator/config", json={"list_lag_ms": 3_600_000})
    assert (await backend.apply(state)).converged
    dump = (await book.http.get("/__emulator/dump")).json()["users"]
    people = dump["a@example.com"]["people"]
    assert [p["names"][0]["givenName"] for p in people] == ["Ann"]


async def test_a_pass_starting_while_the_idle_account_lists_lets_that_listing_finish(
    held_server: tuple[HeldCall, str], tmp_path: Path, clock: ManualClock, ticks: Ticks
) -> None:
    """An idle account lists to see its creates before giving the lease back; a pass that
    starts meanwhile stops that wait, but a listing already sent is let finish: cut short it
    would be a read paid for and its answer lost (the server counts a client gone mid-request,
    499). The pass then keeps the lease."""
    gate, url = held_server
    state = desired(tmp_path, contact_yaml("a", "Ann"))
    async with connect(url, token=TOKEN, config=UNPACED) as client:
        with CreateJournal(tmp_path / "journal.jsonl") as journal:
            lease = claimant(client, tmp_path, "controller", ticks)
            settings = ApplySettings(plan=PlanOptions(owner="o", prune=True))
            backend = ApplyBackend(client, journal, settings, lease=lease)
            assert (await backend.apply(state)).converged
            gate.arm("GET", "/connections")
            with structlog.testing.capture_logs() as logs:
                backend.between_passes(None)  # idle: list, then give the lease back
                await asyncio.to_thread(gate.arrived.wait, LIMIT)
                next_pass = asyncio.create_task(backend.apply(state))

                def stopping() -> bool:
                    return gate.client_left.is_set() or any(
                        e["event"] == "lease.settle_stopping" for e in logs
                    )

                await eventually_async(stopping, "the pass to stop the idle account's wait")
                gate.opened.set()
                assert (await next_pass).converged
            await asyncio.to_thread(gate.answered.wait, LIMIT)
            assert "499" not in await statuses(url), "the listing was cut short"
            assert not gate.client_left.is_set()
            assert lease.holding
            await backend.close(within=0.0)
