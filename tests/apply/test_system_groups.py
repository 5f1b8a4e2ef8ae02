"""The reconciler leaves system contact groups alone, also when its contacts belong to them.

Real address books carry memberships in deprecated system groups (``family``, ``chatBuddies``,
``blocked`` ...) that no client can add any more: the discovery document's
ContactGroupMembership says only user groups, ``myContacts`` and ``starred`` take new members,
and a real contactGroups.list shows all eight system groups (docs/people-api.md, "System contact
groups"). A plan must never rename, delete or re-add them, and never drop them from a contact.
"""

from __future__ import annotations

from reconciler.apply.results import Outcome
from reconciler.model import read_stamp
from tests.apply.conftest import World
from tests.apply.factories import book

FAMILY = "contactGroups/family"
CHAT = "contactGroups/chatBuddies"


def _groups(person: dict[str, object]) -> list[str]:
    memberships = person.get("memberships") or []
    assert isinstance(memberships, list)
    return [m["contactGroupMembership"]["contactGroupResourceName"] for m in memberships]


async def test_contacts_in_system_groups_converge_and_keep_them(world: World) -> None:
    """Contacts that belong to deprecated system groups are moved between our groups without
    losing those memberships, no system group is written, and a second apply changes nothing."""
    first = await world.apply(book(2, groups=1))
    assert first.converged, first.to_json()
    people = {read_stamp(p.get("clientData")).name: p for p in await world.people()}  # type: ignore[union-attr]
    moving = people["person-00001"]
    await world.edit(
        moving["resourceName"],
        {
            "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName": g}}
                for g in [*_groups(moving), FAMILY, CHAT]
            ]
        },
        "memberships",
    )
    stranger = await world.client.batch_create([{"names": [{"givenName": "Stranger"}]}])
    await world.edit(
        stranger[0].resource_name,  # type: ignore[arg-type]
        {
            "memberships": [
                {"contactGroupMembership": {"contactGroupResourceName": g}}
                for g in ("contactGroups/myContacts", "contactGroups/blocked")
            ]
        },
        "memberships",
    )
    before = world.emulator.stats.snapshot()["by_method"]

    second = await world.apply(book(2, groups=2), prune=True)
    assert second.converged, second.to_json()
    assert second.counts()[Outcome.UPDATED] == 1
    after = world.emulator.stats.snapshot()["by_method"]
    for method in ("people.contactGroups.update", "people.contactGroups.delete"):
        assert after.get(method, 0) == before.get(method, 0)
    people = {p["resourceName"]: p for p in await world.people()}
    moved = _groups(people[moving["resourceName"]])
    assert FAMILY in moved
    assert CHAT in moved
    assert _groups(people[stranger[0].resource_name]) == [  # type: ignore[index]
        "contactGroups/myContacts",
        "contactGroups/blocked",
    ]

    third = await world.apply(book(2, groups=2), prune=True)
    assert third.converged
    assert third.counts()[Outcome.UNCHANGED] == 4  # 2 contacts and 2 groups
    assert third.counts().get(Outcome.UPDATED, 0) == 0
