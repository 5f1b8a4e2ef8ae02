"""The write lease kept in the address book: one writer at a time, across machines.

Each claimant here stands for a run on its own machine: its own state-directory id and local
lock file. Wall time is a manual clock, so expiries pass without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from reconciler.apply.lease import LEASE_TTL, Lease, LeaseHeld, LeaseLost
from reconciler.apply.lease_record import LeaseRecord, find_lease_group, force_unlock
from reconciler.clock import ManualClock
from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from reconciler.model.stamps import LEASE_GROUP_NAME, is_lease_group
from reconciler.people import connect
from reconciler.people.client import PeopleClient
from reconciler.people.errors import ServerError
from tests.support.eventually import LIMIT, eventually_async
from tests.support.held_calls import HeldCall, statuses
from tests.support.leases import Ticks, claimant
from tests.support.pacing import UNPACED

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
async def client() -> AsyncIterator[PeopleClient]:
    app = create_app(EmulatorConfig())
    async with connect("embedded", app=app, token="user:ci@example.com", config=UNPACED) as people:
        yield people


async def record(client: PeopleClient) -> LeaseRecord | None:
    return LeaseRecord.of(await find_lease_group(client))


async def test_a_second_writer_is_refused_with_the_holder_and_expiry(
    client: PeopleClient, tmp_path: Path
) -> None:
    """While one run holds the lease another is refused, told who holds it, until when, and
    how to break it; once released, the other takes it."""
    clock = ManualClock(START)
    first = claimant(client, tmp_path, "runner-1", clock)
    await first.acquire()
    second = claimant(client, tmp_path, "runner-2", clock)
    with pytest.raises(LeaseHeld) as refused:
        await second.acquire()
    message = str(refused.value)
    assert "ci@runner-1" in message
    assert "2026-01-01T00:02:00Z" in message  # START + the 120 s ttl
    assert f"reconciler force-unlock {first.lease_id}" in message
    await first.release()
    await second.acquire()
    assert (await record(client)).lease_id == second.lease_id  # type: ignore[union-attr]


async def test_waiting_for_the_lease_takes_it_when_the_holder_lets_go(
    client: PeopleClient, tmp_path: Path
) -> None:
    """With a wait, the second run looks again until the lease is free (or lapses)."""
    clock = ManualClock(START)
    await claimant(client, tmp_path, "runner-1", clock).acquire()  # never released: a crash
    second = claimant(client, tmp_path, "runner-2", clock)
    await second.acquire(wait=LEASE_TTL + 10)
    assert (await record(client)).lease_id == second.lease_id  # type: ignore[union-attr]
    assert clock.now() - START >= LEASE_TTL  # it waited for the expiry, not less


async def test_a_holder_killed_on_the_same_machine_is_replaced_at_once(
    client: PeopleClient, tmp_path: Path
) -> None:
    """A lease recorded under our own state directory whose local lock is free belongs to a
    dead process (SIGKILL): the next run takes it without waiting for the expiry. While the
    holder lives (its lock held), the same machine is refused like any other."""
    clock = ManualClock(START)
    alive = claimant(client, tmp_path, "runner-1", clock)
    await alive.acquire()
    with pytest.raises(LeaseHeld):
        await claimant(client, tmp_path, "runner-1", clock).acquire()
    alive._unlock_locally()  # what the kernel does when the process dies
    successor = claimant(client, tmp_path, "runner-1", clock)
    await successor.acquire()
    assert clock.now() == START
    assert (await record(client)).lease_id == successor.lease_id  # type: ignore[union-attr]


async def test_two_runners_racing_for_a_free_lease_get_one_winner(
    client: PeopleClient, tmp_path: Path
) -> None:
    """Both read the same free lease; the etag makes the second write a 409, so exactly one
    holds it. First for a lease group that does not exist yet (its unique name decides), then
    for one that does (its etag decides)."""
    clock = ManualClock(START)
    for round_ in range(2):
        runners = [claimant(client, tmp_path, f"r{round_}-{i}", clock) for i in range(3)]
        outcomes = await asyncio.gather(*(r.acquire() for r in runners), return_exceptions=True)
        winners = [r for r, outcome in zip(runners, outcomes, strict=True) if outcome is None]
        assert len(winners) == 1, outcomes
        assert all(isinstance(o, LeaseHeld) for o in outcomes if o is not None)
        assert (await record(client)).lease_id == winners[0].lease_id  # type: ignore[union-attr]
        await winners[0].release()
    groups = [g for g in await client.list_groups() if g.get("name") == LEASE_GROUP_NAME]
    assert len(groups) == 1


async def test_renewal_keeps_the_lease_and_a_broken_lease_stops_the_work(
    client: PeopleClient, tmp_path: Path
) -> None:
    """The holder renews in the background, so a long apply keeps its lease past the ttl. When
    someone breaks the lease and another run takes it, the next renewal finds out and the
    guarded work is cancelled with LeaseLost; the new holder's record is left alone."""
    clock = ManualClock(START)
    ticks = Ticks(clock)
    holder = claimant(client, tmp_path, "runner-1", ticks)

    async def long_apply() -> None:
        async with holder.held():
            await asyncio.Event().wait()  # writes, for as long as it takes

    task = asyncio.create_task(long_apply())
    first = await eventually_async(lambda: record(client), "the lease to be taken")
    clock.advance(LEASE_TTL / 3)
    ticks.queue.put_nowait(None)

    async def renewed() -> bool:
        now = await record(client)
        return now is not None and now.expires > first.expires

    await eventually_async(renewed, "a renewal")
    await force_unlock(client, holder.lease_id)
    other = claimant(client, tmp_path, "runner-2", clock)
    await other.acquire()
    ticks.queue.put_nowait(None)
    with pytest.raises(LeaseLost, match="ci@runner-2"):
        await task
    assert (await record(client)).lease_id == other.lease_id  # type: ignore[union-attr]


async def test_release_on_exit_and_on_error(client: PeopleClient, tmp_path: Path) -> None:
    """Leaving the block, normally or by an exception, clears the holder record."""
    clock = ManualClock(START)
    with pytest.raises(RuntimeError):
        async with claimant(client, tmp_path, "runner-1", Ticks(clock)).held():
            raise RuntimeError("the apply failed")
    assert await record(client) is None
    group = await find_lease_group(client)
    assert group is not None
    assert is_lease_group(group)


async def test_force_unlock_breaks_only_the_named_lease(
    client: PeopleClient, tmp_path: Path
) -> None:
    """Naming a lease that does not hold the book changes nothing and says who does."""
    clock = ManualClock(START)
    holder = claimant(client, tmp_path, "runner-1", clock)
    await holder.acquire()
    with pytest.raises(LookupError, match="ci@runner-1"):
        await force_unlock(client, "deadbeef")
    assert (await record(client)).lease_id == holder.lease_id  # type: ignore[union-attr]
    broken = await force_unlock(client, holder.lease_id)
    assert broken.holder.endswith("ci@runner-1 pid 1")
    assert await record(client) is None


async def test_a_lease_that_lapsed_while_the_loop_was_blocked_is_caught_before_writing(
    client: PeopleClient, tmp_path: Path
) -> None:
    """A confirmation prompt blocks the event loop, and with it the renewals: check() passes
    while the lease is still within its ttl and raises LeaseLost once it has lapsed."""
    clock = ManualClock(START)
    holder = claimant(client, tmp_path, "runner-1", clock)
    await holder.acquire()
    clock.advance(LEASE_TTL - 1)
    holder.check()
    clock.advance(2)
    with pytest.raises(LeaseLost, match="nothing was written"):
        holder.check()


class LaggingGroups:
    """A client whose group listing does not show the lease group yet (a listing lag)."""

    def __init__(self, client: PeopleClient) -> None:
        self.client = client
        self.creates = 0

    async def list_groups(self) -> list[dict[str, Any]]:
        return [g for g in await self.client.list_groups() if not is_lease_group(g)]

    async def create_group(self, name: str, **kw: Any) -> dict[str, Any]:
        self.creates += 1
        return await self.client.create_group(name, **kw)

    async def update_group(self, group: Any, update_group_fields: Any = "clientData") -> Any:
        return await self.client.update_group(group, update_group_fields)


async def test_a_lease_group_the_listing_does_not_show_yet_is_not_fought_over(
    client: PeopleClient, tmp_path: Path
) -> None:
    """Another run just created the lease group and the group listing lags it: the create
    meets a 409, and the claimant is refused (or waits) instead of creating in a loop."""
    clock = ManualClock(START)
    await claimant(client, tmp_path, "runner-1", clock).acquire()
    lagging = LaggingGroups(client)
    late = Lease(
        lagging, lock_path=tmp_path / "runner-2" / "lease.lock", instance="runner-2",  # type: ignore[arg-type]
        holder="late", clock=clock,
    )  # fmt: skip
    with pytest.raises(LeaseHeld, match="not listed yet"):
        await late.acquire()
    assert lagging.creates == 1
    with pytest.raises(LeaseHeld):
        await late.acquire(wait=30)
    assert lagging.creates <= 1 + 30 / 5 + 1  # one try per look, never a tight loop


class FailingUpdates(LaggingGroups):
    """A client whose group updates fail (the API is unreachable) once ``failing`` is set."""

    failing = False

    async def list_groups(self) -> list[dict[str, Any]]:
        return await self.client.list_groups()

    async def update_group(self, group: Any, update_group_fields: Any = "clientData") -> Any:
        if self.failing:
            raise ServerError("the service is unavailable")
        return await super().update_group(group, update_group_fields)


async def test_a_holder_that_cannot_renew_stops_before_its_lease_lapses(
    client: PeopleClient, tmp_path: Path
) -> None:
    """When renewals fail (the API unreachable), the holder stops its work while the lease is
    still its own: before the next renewal would come too late, never after the expiry."""
    clock = ManualClock(START)
    ticks = Ticks(clock)
    flaky = FailingUpdates(client)
    holder = Lease(
        flaky, lock_path=tmp_path / "r" / "lease.lock", instance="r",  # type: ignore[arg-type]
        holder="flaky", clock=ticks,
    )  # fmt: skip

    lost_at: list[float] = []

    async def long_apply() -> None:
        try:
            async with holder.held():
                await asyncio.Event().wait()
        except LeaseLost:
            lost_at.append(clock.now())
            raise

    task = asyncio.create_task(long_apply())
    await eventually_async(lambda: record(client), "the lease to be taken")
    expires = holder.expires
    flaky.failing = True
    for tick in range(1, 4):  # renewals at each third of the ttl fail
        clock.advance(LEASE_TTL / 3)
        ticks.queue.put_nowait(None)

        async def handled(tick: int = tick) -> bool:
            return bool(lost_at) or ticks.sleeps > tick

        await eventually_async(handled, f"renewal {tick} to be tried")
        if lost_at:
            break
    assert lost_at
    assert lost_at[0] < expires
    with pytest.raises(LeaseLost, match="could not be renewed"):
        await task


async def test_a_renewal_under_way_when_the_writing_ends_is_let_finish(tmp_path: Path) -> None:
    """A renewal is a write: cut short when the block ends, it is paid for and its answer
    lost (the server counts a client gone mid-request, 499, or makes the write and the next
    one meets an etag it never saw, 409). The block's end waits for it instead; the release
    after it writes over the renewed record at once."""
    gate = HeldCall(create_app(EmulatorConfig()))
    with BackgroundServer(gate) as server:
        try:
            async with connect(server.url, token="user:ci@example.com", config=UNPACED) as client:
                ticks = Ticks(ManualClock(START))
                lease = claimant(client, tmp_path, "runner-1", ticks)
                await lease.acquire()
                done = asyncio.Event()

                async def write() -> None:
                    async with lease.writing():
                        await done.wait()

                gate.arm("PUT", "")  # the renewal's update of the lease group
                with structlog.testing.capture_logs() as logs:
                    writer = asyncio.create_task(write())
                    await eventually_async(lambda: ticks.sleeps, "the renewal to wait its turn")
                    ticks.queue.put_nowait(None)  # a renewal is due
                    await asyncio.to_thread(gate.arrived.wait, LIMIT)
                    done.set()  # the writing ends while the renewal is under way

                    def ending() -> bool:
                        return gate.client_left.is_set() or any(
                            e["event"] == "lease.renewal_let_finish" for e in logs
                        )

                    await eventually_async(ending, "the writing to end")
                    gate.opened.set()
                    await writer
                await asyncio.to_thread(gate.answered.wait, LIMIT)
                assert "499" not in await statuses(server.url), "the renewal was cut short"
                assert lease.holding
                assert lease.lost is None
                await lease.release()
                assert "409" not in await statuses(server.url)
                assert await record(client) is None
        finally:
            gate.opened.set()
