"""Creates never happen twice; deletes re-check ownership and protection right before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from reconciler.apply.executor import ItemResult
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.results import Outcome
from reconciler.model import read_stamp
from reconciler.people import connect
from reconciler.people.errors import UnknownOutcome
from reconciler.people.pacing import PacingConfig
from reconciler.people.transport import ClientConfig
from tests.support.manifests import book
from tests.support.world import TOKEN, EditingGateway, Hook, World, by_name


class LosingGateway(ClientGateway):
    """Sends creates, then loses the answer of the first batch: the whole call fails, or (as
    the client reports it) every item comes back as an unknown outcome."""

    def __init__(self, client: Any, *, per_item: bool) -> None:
        super().__init__(client)
        self.lose, self.per_item = 1, per_item

    async def batch_create(
        self, bodies: Sequence[dict[str, Any]], *, before_send: Hook
    ) -> list[ItemResult]:
        answers = await super().batch_create(bodies, before_send=before_send)
        if self.lose:
            self.lose -= 1
            lost = UnknownOutcome("connection reset after the request was sent")
            if self.per_item:
                return [lost for _ in answers]
            raise lost
        return answers


class Died(BaseException):
    """The process died: nothing after this point runs (no handler of the engine catches it)."""


class DyingGateway(ClientGateway):
    """Sends a batch create for real, then dies before its answer reaches the journal."""

    async def batch_create(
        self, bodies: Sequence[dict[str, Any]], *, before_send: Hook
    ) -> list[ItemResult]:
        await super().batch_create(bodies, before_send=before_send)
        raise Died


def stamp_counts(people: list[dict[str, Any]]) -> Counter[str]:
    return Counter(
        stamp.name for p in people if (stamp := read_stamp(p.get("clientData"))) is not None
    )


@pytest.mark.parametrize("per_item", [False, True])
async def test_a_lost_create_answer_under_listing_lag_makes_no_duplicate(
    world: World, per_item: bool
) -> None:
    """The answer is lost and the listing lags: the apply waits for the settle time instead of
    creating again, then finds the contacts by their stamps."""
    world.configure(list_lag_ms=3000)
    result = await world.apply(book(10), gateway=LosingGateway(world.client, per_item=per_item))
    assert result.converged, result.to_json()
    assert result.counts()[Outcome.CREATED] == 10
    assert set(stamp_counts(await world.people()).values()) == {1}


async def test_a_crash_between_create_and_record_is_recovered_by_the_next_run(
    world: World,
) -> None:
    """The journal holds only the intent (the process died before the answer was recorded):
    the next run finds the contacts by stamp and creates nothing."""
    desired = book(4)
    bodies = []
    from reconciler.plan.build import build_plan
    from reconciler.plan.options import PlanOptions

    plan = build_plan(desired, await _live(world), PlanOptions())
    bodies = [dict(i.body) for i in plan.items]
    with world.journal() as journal:
        await journal.intend([i.key for i in plan.items])
    await world.client.batch_create(bodies)  # ... and the process dies here
    world.configure(list_lag_ms=2000)
    result = await world.apply(desired)
    assert result.converged, result.to_json()
    people = await world.people()
    assert len(people) == 4
    assert set(stamp_counts(people).values()) == {1}


async def test_a_create_held_by_the_pacer_then_killed_mid_call_is_not_created_twice(
    world: World,
) -> None:
    """The pacer holds a batch create for longer than the settle time after the apply decided
    to send it, and the process dies once the server has made the contacts but before their
    answer is journaled. The next run starts at once, while the listing still lags: the
    settle time counts from when the call left, so the contacts are pending, then found by
    their stamps, never created a second time."""
    world.configure(list_lag_ms=3000)
    # 12 critical writes a minute: a batch create (6 units) empties the account's bucket,
    # and the next one waits about a minute for it, much longer than the 5 s settle time.
    tight = ClientConfig(pacing=PacingConfig(writes_per_minute=12))
    async with connect(
        "embedded", app=world.app, token=TOKEN, clock=world.clock, config=tight
    ) as client:
        await client.batch_create([{"names": [{"givenName": "Someone", "familyName": "Else"}]}])
        with pytest.raises(Died):
            await world.apply(book(2), gateway=DyingGateway(client))
    mine = stamp_counts(await world.people())
    assert set(mine.values()) == {1}, "the server made them before the process died"

    result = await world.apply(book(2))  # the next run: a fresh client, right away
    assert result.converged, result.to_json()
    assert stamp_counts(await world.people()) == mine, "created again"


async def test_a_journaled_contact_hidden_by_listing_lag_is_fetched_by_name(world: World) -> None:
    """Right after a create the listing does not show the contact yet; the journal's resource
    name does, so an immediate second apply neither duplicates nor waits."""
    world.configure(list_lag_ms=60_000)
    await world.apply(book(6))
    before = world.clock.now()
    again = await world.apply(book(6, title="Lead"))
    assert again.converged, again.to_json()
    assert again.counts()[Outcome.UPDATED] == 6
    assert world.clock.now() - before < 5  # no settle wait was needed
    world.configure(list_lag_ms=0)
    assert set(stamp_counts(await world.people()).values()) == {1}
    assert len(await world.people()) == 6


async def test_deletes_skip_contacts_whose_stamp_or_protection_changed(world: World) -> None:
    """Between the plan and the delete, someone unstamps one contact and protects another:
    both are skipped, the rest are deleted."""
    await world.apply(book(6))
    live = by_name(await world.people())

    async def meddle() -> None:
        unstamped = live["person-00003"]
        await world.edit(unstamped["resourceName"], {"clientData": []}, "clientData")
        protected = live["person-00004"]
        data = [*protected["clientData"], {"key": "reconciler.prune", "value": "false"}]
        await world.edit(protected["resourceName"], {"clientData": data}, "clientData")

    class MeddlingGateway(EditingGateway):
        async def batch_get(self, names: Sequence[str]) -> dict[str, ItemResult]:
            if self.hook is not None:
                hook, self.hook = self.hook, None
                await hook()
            return await super().batch_get(names)

    result = await world.apply(
        book(2),
        gateway=MeddlingGateway(world.client, meddle),
        prune=True,
        max_deletes=10,
        max_delete_share=1.0,
    )
    assert result.get("contact", "person-00003").outcome is Outcome.SKIPPED  # type: ignore[union-attr]
    assert result.get("contact", "person-00004").outcome is Outcome.SKIPPED  # type: ignore[union-attr]
    assert result.counts()[Outcome.DELETED] == 2
    assert len(await world.people()) == 4


async def test_prune_refused_by_the_guard_writes_nothing(world: World) -> None:
    """A plan deleting more than the cap is refused before any write."""
    await world.apply(book(20))
    writes_before = world.client.stats.requests["people.batchDeleteContacts"]
    result = await world.apply(book(1), prune=True, max_deletes=5)
    assert not result.converged
    assert result.errors
    assert result.refused == result.errors[0]  # typed: the status reads this, not the words
    assert world.client.stats.requests["people.batchDeleteContacts"] == writes_before
    assert len(await world.people()) == 20


async def _live(world: World) -> Any:
    from reconciler.model import LiveState

    people, _ = await ClientGateway(world.client).list_people()
    return LiveState(people=people, groups=await ClientGateway(world.client).list_groups())
