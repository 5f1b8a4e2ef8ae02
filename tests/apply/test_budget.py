"""What an apply costs in requests: the plan's batches are the calls, and failures are bounded.

Counts come from the emulator's own statistics (``GET /__emulator/stats``), so they are what
the server really answered, retries included.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.executor import ExecutorSettings, ItemResult
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.results import Outcome
from reconciler.apply.saved import apply_saved
from reconciler.model import DesiredState, LiveState
from reconciler.people.errors import ServerError, UnknownOutcome
from reconciler.plan.build import build_plan
from reconciler.plan.model import Batch, Method, Plan, Wave, WaveName
from reconciler.plan.options import PlanOptions
from tests.support.manifests import book, numbered
from tests.support.world import Hook, World


async def requests(world: World, method: str | None = None) -> int:
    stats = await world.admin("GET", "stats")
    if method is None:
        return int(stats["total"])
    return int(stats["by_method"].get(method, 0))


async def test_450_creates_in_one_account_are_three_batch_create_calls(world: World) -> None:
    """The plan cuts 450 creates into batches of 200, 200 and 50; the apply sends exactly those."""
    result = await world.apply(book(450))
    assert result.converged, [r.to_json() for r in result.left][:3]
    assert await requests(world, "people.people.batchCreateContacts") == 3
    assert len(await world.people()) == 450


async def test_a_saved_plan_runs_its_own_batches(world: World) -> None:
    """A saved plan whose creates were cut into five batches of 90 is sent as five calls: the
    apply executes the plan's batches, it does not cut its own."""
    plan = build_plan(book(450), LiveState(), PlanOptions())
    items = plan.waves[0].batches[0].items + plan.waves[0].batches[1].items
    items += plan.waves[0].batches[2].items
    batches = tuple(Batch(Method.BATCH_CREATE, items[i : i + 90]) for i in range(0, 450, 90))
    plan = replace(plan, waves=(Wave(WaveName.CONTACTS, batches),))
    with world.journal() as journal:
        result = await apply_saved(
            ClientGateway(world.client),
            journal,
            plan,
            world.settings(),
            clock=world.clock,
            rng=random.Random(1),
        )
    assert result.converged, [r.to_json() for r in result.left][:3]
    assert await requests(world, "people.people.batchCreateContacts") == 5


class FailingFromFirstWrite(ClientGateway):
    """Every request fails (the emulator's ``error_rate=1.0``) from the first write on."""

    def __init__(self, client: Any, world: World) -> None:
        super().__init__(client)
        self.world = world
        self.before: int | None = None

    async def batch_update(
        self, bodies: Mapping[str, dict[str, Any]], mask: Sequence[str]
    ) -> dict[str, ItemResult]:
        if self.before is None:
            self.before = await requests(self.world)
            self.world.configure(error_rate=1.0)
        return await super().batch_update(bodies, mask)


async def test_with_every_request_failing_three_updates_cost_at_most_ten_requests(
    world: World,
) -> None:
    """Once every request fails, an apply of 3 updates gives up within 10 requests (retries
    of the write, the next round's listing and its retries included) and reports each
    contact as failed with a time for its next attempt."""
    assert (await world.apply(book(3))).converged
    gateway = FailingFromFirstWrite(world.client, world)
    result = await world.apply(book(3, title="Lead"), gateway=gateway)
    world.configure(error_rate=0.0)
    assert gateway.before is not None
    spent = await requests(world) - 1 - gateway.before  # minus our own stats read
    assert spent <= 10, spent
    assert not result.converged
    left = {r.key: r for r in result.left}
    assert sorted(left) == ["person-00000", "person-00001", "person-00002"]
    assert all(r.outcome is Outcome.FAILED and r.retry_at is not None for r in left.values())


async def test_the_controller_settings_bound_a_pass_the_same_way(world: World) -> None:
    """With one round (as in a controller pass), every request failing costs at most
    the transport's attempts for the one write: the work queue, not the pass, retries."""
    assert (await world.apply(book(3))).converged
    gateway = FailingFromFirstWrite(world.client, world)
    settings = ApplySettings(
        plan=PlanOptions(),
        executor=ExecutorSettings(max_attempts=3, base_delay=0.25, max_delay=2.0, settle=5.0),
        rounds=1,
    )
    with world.journal() as journal:
        result = await converge(
            gateway,
            journal,
            book(3, title="Lead"),
            settings,
            clock=world.clock,
            rng=random.Random(2),
        )
    world.configure(error_rate=0.0)
    assert gateway.before is not None
    spent = await requests(world) - 1 - gateway.before
    assert spent <= 5, spent
    assert {r.key for r in result.left} == {"person-00000", "person-00001", "person-00002"}


async def test_a_refused_contact_does_not_hold_back_the_rest_of_its_batch(world: World) -> None:
    """The server refuses a whole batchCreateContacts call for one bad contact and names it;
    the engine sends the rest again at once, without it: two calls, the rest created once."""
    desired = book(5)
    bad = desired.contacts[2]
    fields = {**bad.spec.fields, "names": [{"givenName": "A"}, {"givenName": "B"}]}
    desired.contacts[2] = replace(bad, spec=replace(bad.spec, fields=fields))
    result = await world.apply(desired)
    assert await requests(world, "people.people.batchCreateContacts") == 2
    failed = result.get("contact", bad.name)
    assert failed is not None
    assert failed.outcome is Outcome.FAILED
    assert failed.retry_at is None  # a 400: trying again cannot help
    assert len(await world.people()) == 4


class RefusingUpdatesLosingACreate(ClientGateway):
    """Every update fails as the transport reports it after its retries (a 5xx), and the
    first create's answer is lost after the server made the contacts."""

    lost = False

    async def batch_update(
        self, bodies: Mapping[str, dict[str, Any]], mask: Sequence[str]
    ) -> dict[str, ItemResult]:
        raise ServerError("the service is unavailable")

    async def batch_create(
        self, bodies: Sequence[dict[str, Any]], *, before_send: Hook
    ) -> list[ItemResult]:
        answers = await super().batch_create(bodies, before_send=before_send)
        if not self.lost:
            self.lost = True
            raise UnknownOutcome("connection reset after the request was sent")
        return answers


async def test_the_last_round_waits_for_a_pending_create(world: World) -> None:
    """A failing update wants another round soon and a create whose answer was lost can only
    be settled once the listing has caught up: the last round waits for the later of the two,
    so the create is confirmed (once) rather than left pending behind early retries."""
    assert (await world.apply(book(3))).converged
    world.configure(list_lag_ms=3000)
    result = await world.apply(
        book(4, title="Lead"), gateway=RefusingUpdatesLosingACreate(world.client)
    )
    created = result.get("contact", "person-00003")
    assert created is not None
    assert created.outcome is Outcome.CREATED, created
    assert {r.key for r in result.left} == {"person-00000", "person-00001", "person-00002"}
    assert len(await world.people()) == 4


async def test_an_apply_sends_exactly_the_batches_of_the_plan_it_shows(world: World) -> None:
    """Creates, updates under two different masks and deletes: the calls of each method are
    the batches of the plan the apply showed, one call each (deletes re-read first)."""
    start = book(250, groups=2)
    assert (await world.apply(start)).converged
    teams = [g.name for g in start.groups]
    contacts = [numbered(i, title="Lead") for i in range(50, 150)]  # a new title
    contacts += [numbered(i, groups=[teams[(i + 1) % 2]]) for i in range(150, 200)]  # memberships
    contacts += list(start.contacts[200:])  # unchanged
    contacts += [numbered(i, groups=[teams[0]]) for i in range(250, 500)]  # new
    desired = DesiredState(contacts=contacts, groups=start.groups)  # 0..49 are pruned
    before = (await world.admin("GET", "stats"))["by_method"]
    shown: list[Plan] = []

    def approve(plan: Plan) -> bool:
        shown.append(plan)
        return True

    with world.journal() as journal:
        settings = world.settings(prune=True, max_deletes=100, max_delete_share=0.5)
        result = await converge(
            ClientGateway(world.client),
            journal,
            desired,
            settings,
            on_plan=approve,
            clock=world.clock,
            rng=random.Random(3),
        )
    assert result.converged, [r.to_json() for r in result.left][:3]
    after = (await world.admin("GET", "stats"))["by_method"]
    sent = {m: after.get(m, 0) - before.get(m, 0) for m in after}
    batches = Counter(b.method for wave in shown[0].waves for b in wave.batches)
    masks = {b.update_mask for w in shown[0].waves for b in w.batches if b.update_mask}
    assert len(masks) == 2
    assert batches[Method.BATCH_CREATE] == 2
    assert sent["people.people.batchCreateContacts"] == batches[Method.BATCH_CREATE]
    assert sent["people.people.batchUpdateContacts"] == batches[Method.BATCH_UPDATE]
    assert sent["people.people.batchDeleteContacts"] == batches[Method.BATCH_DELETE]
    assert sent["people.people.getBatchGet"] == 1  # the 50 deletes, re-read right before
