"""Pass slots: bounded, first come first served, edits and live changes before the rest."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.controller.slots import PassSlots, Ticket
from tests.support.eventually import eventually_async


async def test_an_urgent_pass_goes_before_every_waiting_ordinary_one() -> None:
    """With the only slot taken and two start passes waiting, an edit's pass that comes later
    gets the slot first; the others then follow in arrival order."""
    slots = PassSlots(1)
    order: list[str] = []
    release = asyncio.Event()

    async def hold(name: str, urgent: bool, wait: asyncio.Event | None = None) -> None:
        async with slots.hold(urgent=urgent):
            order.append(name)
            if wait is not None:
                await wait.wait()

    first = asyncio.create_task(hold("running", False, release))
    await eventually_async(lambda: order == ["running"], "the first pass to hold the slot")
    waiting = [asyncio.create_task(hold(f"start-{i}", False)) for i in range(2)]
    await eventually_async(lambda: slots.waiting == 2, "two start passes to wait")
    edit = asyncio.create_task(hold("edit", True))
    await eventually_async(lambda: slots.waiting == 3, "the edit's pass to wait too")
    release.set()
    await asyncio.gather(first, *waiting, edit)
    assert order == ["running", "edit", "start-0", "start-1"]
    assert slots.waiting == 0


async def test_no_more_than_size_passes_hold_a_slot() -> None:
    """However many passes ask, at most ``size`` are inside at once."""
    slots = PassSlots(3)
    inside = peak = 0

    async def one() -> None:
        nonlocal inside, peak
        async with slots.hold():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0)  # a yield, not a wait: the others ask meanwhile
            inside -= 1

    await asyncio.gather(*(one() for _ in range(20)))
    assert peak == 3


async def test_a_cancelled_waiter_does_not_lose_the_slot() -> None:
    """A waiter cancelled while queued (or just as it was handed the slot) leaves the slot to
    the next one."""
    slots = PassSlots(1)
    release = asyncio.Event()
    inside: list[str] = []

    async def holder(name: str) -> None:
        async with slots.hold():
            inside.append(name)
            await release.wait()

    task = asyncio.create_task(holder("first"))
    await eventually_async(lambda: inside == ["first"], "the first holder to hold the slot")
    doomed = asyncio.create_task(holder("doomed"))
    await eventually_async(lambda: slots.waiting == 1, "the second holder to wait")
    doomed.cancel()
    release.set()
    await task
    with pytest.raises(asyncio.CancelledError):
        await doomed
    async with slots.hold():
        pass


def test_size_must_be_positive() -> None:
    """Zero slots would stop every pass: a configuration error, named."""
    with pytest.raises(ValueError, match="size"):
        PassSlots(0)


async def test_a_promoted_waiting_pass_goes_before_the_ordinary_ones_ahead_of_it() -> None:
    """Three start passes wait behind a running one; the last is promoted (its account got an
    edit) and gets the slot next, the others keep their order; promoting a ticket that is not
    waiting changes nothing."""
    slots = PassSlots(1)
    order: list[str] = []
    release = asyncio.Event()
    tickets = {name: Ticket() for name in ("running", "start-0", "start-1", "start-2")}

    async def hold(name: str, wait: asyncio.Event | None = None) -> None:
        async with slots.hold(ticket=tickets[name]):
            order.append(name)
            if wait is not None:
                await wait.wait()

    first = asyncio.create_task(hold("running", release))
    await eventually_async(lambda: order == ["running"], "the first pass to hold the slot")
    waiting = [asyncio.create_task(hold(f"start-{i}")) for i in range(3)]
    await eventually_async(lambda: slots.waiting == 3, "three start passes to wait")
    slots.promote(tickets["start-2"])
    slots.promote(tickets["running"])  # holds its slot: nothing to move
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == ["running", "start-2", "start-0", "start-1"]
    assert slots.waiting == 0


async def test_urgent_passes_take_the_reserve_slots_that_ordinary_ones_never_take() -> None:
    """One slot and one reserve slot: the slot is held and two start passes wait; an edit's
    pass starts at once in the reserve; a second edit's pass waits, and goes next when either
    slot frees; the start passes never take the reserve, so they wait for the ordinary slot."""
    slots = PassSlots(1, reserve=1)
    inside: list[str] = []
    done: list[str] = []
    gates = {name: asyncio.Event() for name in ("running", "edit-0", "edit-1")}

    async def hold(name: str, urgent: bool) -> None:
        async with slots.hold(urgent=urgent):
            inside.append(name)
            if name in gates:
                await gates[name].wait()
            done.append(name)

    tasks = [asyncio.create_task(hold("running", False))]
    await eventually_async(lambda: inside == ["running"], "the first pass to hold the slot")
    tasks += [asyncio.create_task(hold(f"start-{i}", False)) for i in range(2)]
    await eventually_async(lambda: slots.waiting == 2, "two start passes to wait")
    tasks.append(asyncio.create_task(hold("edit-0", True)))
    await eventually_async(lambda: inside == ["running", "edit-0"], "the edit to start at once")
    tasks.append(asyncio.create_task(hold("edit-1", True)))
    await eventually_async(lambda: slots.waiting == 3, "the second edit to wait")
    gates["edit-0"].set()
    await eventually_async(lambda: inside[-1] == "edit-1", "the second edit in the reserve")
    gates["edit-1"].set()
    await eventually_async(lambda: done[-1] == "edit-1", "the second edit to end")
    assert inside == ["running", "edit-0", "edit-1"]  # the reserve stayed free of start passes
    gates["running"].set()
    await asyncio.gather(*tasks)
    assert inside == ["running", "edit-0", "edit-1", "start-0", "start-1"]
    assert slots.waiting == 0


async def test_a_pass_promoted_while_a_reserve_slot_is_free_starts_at_once() -> None:
    """A start pass waits behind a running one; its account gets an edit and the reserve slot is
    free: it starts at once, without waiting for the running pass."""
    slots = PassSlots(1, reserve=1)
    inside: list[str] = []
    release = asyncio.Event()
    ticket = Ticket()

    async def running() -> None:
        async with slots.hold():
            inside.append("running")
            await release.wait()

    async def start() -> None:
        async with slots.hold(ticket=ticket):
            inside.append("promoted")

    first = asyncio.create_task(running())
    await eventually_async(lambda: inside == ["running"], "the first pass to hold the slot")
    second = asyncio.create_task(start())
    await eventually_async(lambda: slots.waiting == 1, "the start pass to wait")
    slots.promote(ticket)
    await second
    assert inside == ["running", "promoted"]
    release.set()
    await first
    async with slots.hold(), slots.hold(urgent=True):  # both slots are free again
        pass
