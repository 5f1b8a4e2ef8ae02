"""Waves run in dependency order and batches respect every API limit."""

from __future__ import annotations

from reconciler.plan import Action, Method, PlanOptions, WaveName, build_plan, resolve_body
from tests.support.manifests import contact, desired, group
from tests.support.persons import live, person, stamp


def test_waves_run_groups_then_contacts_then_deletes() -> None:
    """Group writes, then contacts (referring to new groups by placeholder), then deletions."""
    old_group = {
        "resourceName": "contactGroups/old",
        "etag": "g",
        "name": "Old",
        "groupType": "USER_CONTACT_GROUP",
        "clientData": [
            {"key": "reconciler.owner", "value": "reconciler"},
            {"key": "reconciler.name", "value": "old"},
        ],
    }
    people = [
        person(f"people/c{i}", clientData=stamp("reconciler", f"c{i}", "")) for i in range(20)
    ]
    plan = build_plan(
        desired(
            *[contact(f"c{i}") for i in range(19)],
            contact("new", groups=("sales",)),
            groups=(group("sales"),),
        ),
        live(*people, groups=(old_group,)),
        PlanOptions(prune=True),
    )
    assert [w.name for w in plan.waves] == [
        WaveName.GROUPS,
        WaveName.CONTACTS,
        WaveName.CONTACT_DELETES,
        WaveName.GROUP_DELETES,
    ]
    create = plan.waves[1].batches[0].items[0]
    assert create.pending_groups == ("sales",)
    body = resolve_body(create.body, {"sales": "contactGroups/new1"})
    names = [m["contactGroupMembership"]["contactGroupResourceName"] for m in body["memberships"]]
    assert names == ["contactGroups/myContacts", "contactGroups/new1"]


def test_batches_respect_api_limits() -> None:
    """450 creates -> 200+200+50; 1200 deletes -> 500+500+200."""
    people = [
        person(f"people/d{i}", clientData=stamp("reconciler", f"d{i:04}", "")) for i in range(1200)
    ]
    plan = build_plan(
        desired(*[contact(f"n{i:03}") for i in range(450)]),
        live(*people),
        PlanOptions(prune=True, allow_mass_delete=True),
    )
    sizes = {w.name: [len(b.items) for b in w.batches] for w in plan.waves}
    assert sizes[WaveName.CONTACTS] == [200, 200, 50]
    assert sizes[WaveName.CONTACT_DELETES] == [500, 500, 200]
    methods = {b.method for w in plan.waves for b in w.batches}
    assert methods == {Method.BATCH_CREATE, Method.BATCH_DELETE}


def test_updates_share_a_batch_only_with_an_identical_mask() -> None:
    """batchUpdateContacts takes one mask, so updates are grouped by identical mask."""
    people = [
        person(
            f"people/c{i}",
            urls=[{"value": "old"}],
            nicknames=[{"value": "old"}],
            clientData=stamp("reconciler", f"c{i}", "nicknames,urls"),
        )
        for i in range(300)
    ]
    specs = [
        contact(
            f"c{i}",
            urls=[{"value": "new" if i % 2 else "old"}],
            nicknames=[{"value": "old" if i % 2 else "new"}],
        )
        for i in range(300)
    ]
    plan = build_plan(desired(*specs), live(*people))
    batches = plan.waves[0].batches
    assert [(b.update_mask, len(b.items)) for b in batches] == [
        (("clientData", "nicknames"), 150),
        (("clientData", "urls"), 150),
    ]
    assert all(item.update_mask == b.update_mask for b in batches for item in b.items)
    assert all(item.action is Action.UPDATE for b in batches for item in b.items)
