"""Every write path reads a contact's ownership stamp the way the planner does."""

from __future__ import annotations

from reconciler.apply.results import Outcome
from reconciler.model import NAME_KEY, read_stamp
from tests.support.manifests import book
from tests.support.world import World


async def test_a_contact_with_two_name_entries_is_pruned_under_the_name_it_was_planned_by(
    world: World,
) -> None:
    """``clientData`` allows a key twice; with a second ``reconciler.name`` entry appended, the
    plan and the re-check before the delete read the same (first) name, so the prune happens
    instead of being skipped as "stamp changed"."""
    await world.apply(book(2))
    gone = next(
        p
        for p in await world.people()
        if (stamp := read_stamp(p.get("clientData"))) and stamp.name == "person-00001"
    )
    data = [*gone["clientData"], {"key": NAME_KEY, "value": "someone-else"}]
    await world.edit(gone["resourceName"], {"clientData": data}, "clientData")

    result = await world.apply(book(1), prune=True, max_deletes=5, max_delete_share=1.0)

    assert result.get("contact", "person-00001").outcome is Outcome.DELETED, result.to_json()  # type: ignore[union-attr]
    assert len(await world.people()) == 1
