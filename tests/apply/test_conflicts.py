"""Concurrent edits, stale etags and lagging reads: managed fields converge, others survive."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.apply.gateway import ClientGateway
from reconciler.apply.results import Outcome
from reconciler.model import LiveState
from reconciler.plan.build import build_plan
from reconciler.plan.options import PlanOptions
from tests.support.manifests import book
from tests.support.world import USER, EditingGateway, World, by_name


async def test_edits_outside_our_fields_survive_a_conflicting_update(world: World) -> None:
    """A biography added on a phone while we update survives; a managed field edited at the
    same time is set back to the manifest. Each conflict costs one re-read, not a new listing."""
    await world.apply(book(10))
    before = by_name(await world.people())

    async def edit() -> None:
        for i in range(0, 10, 2):
            rn = before[f"person-{i:05d}"]["resourceName"]
            await world.edit(rn, {"biographies": [{"value": f"note {i}"}]}, "biographies")
        rn = before["person-00001"]["resourceName"]
        await world.edit(rn, {"organizations": [{"name": "Rogue", "title": "X"}]}, "organizations")

    requests_before = world.client.stats.total
    result = await world.apply(
        book(10, title="Manager"), gateway=EditingGateway(world.client, edit)
    )
    assert result.converged, result.to_json()
    assert result.counts()[Outcome.UPDATED] == 10
    after = by_name(await world.people())
    for i in range(10):
        person = after[f"person-{i:05d}"]
        assert person["organizations"][0]["title"] == "Manager"
        assert person["organizations"][0]["name"] == "Acme"
        if i % 2 == 0:
            assert person["biographies"][0]["value"] == f"note {i}"
    methods = world.client.stats.requests
    assert methods["people.connections.list"] >= 1
    assert world.client.stats.total - requests_before <= 8  # list, groups, 2 updates, 1 re-read


async def test_spurious_stale_etags_and_read_lag_still_converge(world: World) -> None:
    """Rejections of current etags and reads that return old versions only cost retries."""
    await world.apply(book(20))
    world.configure(spurious_etag_rate=0.3, read_lag_ms=2000)
    result = await world.apply(book(20, title="Lead"))
    second = await world.apply(book(20, title="Lead2"))
    assert result.converged, result.to_json()
    assert second.converged, second.to_json()
    titles = {p["organizations"][0]["title"] for p in await world.people()}
    assert titles == {"Lead2"}


async def test_a_contact_that_stays_contended_is_reported_with_its_next_attempt(
    world: World,
) -> None:
    """Still in conflict after the retries: reported as a conflict with a retry time, while
    every other contact converges."""
    await world.apply(book(5))
    world.configure(spurious_etag_rate=1.0, spurious_etag_window_ms=10**9)
    # Every contact was just written once (created), so every update is now rejected.
    result = await world.apply(book(5, title="Boss"))
    assert not result.converged
    left = result.left
    assert {r.outcome for r in left} == {Outcome.CONFLICT}
    assert all(r.retry_at is not None for r in left)
    assert len(left) == 5


async def test_a_contact_deleted_out_of_band_is_not_recreated_blindly_mid_apply(
    world: World,
) -> None:
    """A managed contact deleted while we update it is reported; the next apply recreates it."""
    await world.apply(book(3))
    before = by_name(await world.people())
    victim = before["person-00002"]["resourceName"]

    async def delete() -> None:
        await world.client.batch_delete([victim])

    result = await world.apply(book(3, title="CEO"), gateway=EditingGateway(world.client, delete))
    assert result.get("contact", "person-00002").outcome in (Outcome.CONFLICT, Outcome.FAILED)  # type: ignore[union-attr]
    again = await world.apply(book(3, title="CEO"))
    assert again.converged
    assert len(await world.people()) == 3


async def test_plan_after_apply_is_empty(world: World) -> None:
    """The live book after an apply plans to nothing (no phantom changes)."""
    desired = book(12, groups=2)
    await world.apply(desired)
    dump = await world.admin("GET", "dump")
    live = LiveState(
        people=dump["users"][USER]["people"], groups=dump["users"][USER]["contactGroups"]
    )
    assert build_plan(desired, live, PlanOptions()).empty


async def _edit_half(world: World, before: dict[str, dict[str, Any]]) -> None:
    for i in range(0, 10, 2):
        rn = before[f"person-{i:05d}"]["resourceName"]
        await world.edit(rn, {"biographies": [{"value": f"note {i}"}]}, "biographies")


async def test_one_incremental_sync_finds_the_other_concurrent_edits(world: World) -> None:
    """After a first rejection, one sync shows every edit since our listing: the edited
    contacts are re-merged from it, with no per-contact re-read, and sent together with the
    contacts the rejected call did not write."""
    await world.apply(book(10))
    before = by_name(await world.people())
    stats = world.client.stats.requests
    gets, lists = stats["people.getBatchGet"], stats["people.connections.list"]
    updates = stats["people.batchUpdateContacts"]
    result = await world.apply(
        book(10, title="VP"),
        gateway=EditingGateway(world.client, lambda: _edit_half(world, before)),
    )
    assert result.converged, result.to_json()
    assert stats["people.getBatchGet"] == gets
    assert stats["people.connections.list"] == lists + 2  # the listing and one sync
    # One call rejected (naming the 5 edited contacts), then one with all 10 re-merged.
    assert stats["people.batchUpdateContacts"] == updates + 2
    after = by_name(await world.people())
    assert all(after[f"person-{i:05d}"]["biographies"][0]["value"] == f"note {i}" for i in (0, 8))


async def test_a_lagging_sync_falls_back_to_re_reading_the_conflicts(world: World) -> None:
    """When the sync does not show the edits yet, the conflicting contacts are re-read."""
    await world.apply(book(10))
    before = by_name(await world.people())
    world.configure(sync_delay_ms=600_000)
    stats = world.client.stats.requests
    gets = stats["people.getBatchGet"]
    result = await world.apply(
        book(10, title="VP"),
        gateway=EditingGateway(world.client, lambda: _edit_half(world, before)),
    )
    assert result.converged, result.to_json()
    assert stats["people.getBatchGet"] == gets + 1
    titles = {p["organizations"][0]["title"] for p in await world.people()}
    assert titles == {"VP"}


async def test_a_rename_whose_name_was_taken_meanwhile_fails_once_without_retries(
    world: World,
) -> None:
    """A person creates a label with our group's new name between plan and write: the API's
    409 ALREADY_EXISTS is a failure with the API's reason, sent once, not an etag conflict
    retried and requeued."""
    from dataclasses import replace

    from tests.support.manifests import Group, GroupSpec

    first = await world.apply(replace(book(0), groups=[Group("pals", GroupSpec("Pals"))]))
    assert first.converged, first.left

    class Racing(ClientGateway):
        updates = 0

        async def update_group(
            self, resource_name: str, body: Mapping[str, Any], mask: Sequence[str]
        ) -> dict[str, Any]:
            if not Racing.updates:
                await self.client.create_group("Friends")  # a person's own label
            Racing.updates += 1
            return await super().update_group(resource_name, body, mask)

    renamed = replace(book(0), groups=[Group("pals", GroupSpec("Friends"))])
    result = await world.apply(renamed, Racing(world.client))
    [outcome] = [r for r in result.results if r.key == "pals"]
    assert outcome.outcome is Outcome.FAILED
    assert "already exists" in (outcome.reason or "")
    assert Racing.updates == 1
