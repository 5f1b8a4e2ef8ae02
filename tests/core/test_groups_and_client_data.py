"""Groups are renamed in place and keep others' data; declared clientData keys are owned."""

from __future__ import annotations

import pytest

from reconciler.plan import Action, Kind, Method, build_plan, resolve_body
from tests.support.manifests import contact, desired, group
from tests.support.persons import live, person, stamp

OURS = [
    {"key": "reconciler.owner", "value": "reconciler"},
    {"key": "reconciler.name", "value": "sales"},
]


def test_a_renamed_group_is_updated_in_place_keeping_other_client_data() -> None:
    """spec.name changed: one group update sending name and clientData whole, etag included."""
    live_group = {
        "resourceName": "contactGroups/s1",
        "etag": "g1",
        "name": "Sales",
        "groupType": "USER_CONTACT_GROUP",
        "clientData": [{"key": "crm.team", "value": "7"}, *OURS],
    }
    plan = build_plan(
        desired(groups=(group("sales", "Sales & Partners"),)), live(groups=(live_group,))
    )
    (item,) = plan.changes
    assert (item.kind, item.action, item.etag) == (Kind.GROUP, Action.UPDATE, "g1")
    assert item.update_mask == ("clientData", "name")
    assert item.body["name"] == "Sales & Partners"
    assert {"key": "crm.team", "value": "7"} in item.body["clientData"]
    assert plan.waves[0].batches[0].method is Method.UPDATE_GROUP


def test_an_unchanged_group_plans_nothing() -> None:
    """A live group with our stamp and the manifest's name needs no write."""
    live_group = {
        "resourceName": "contactGroups/s1",
        "etag": "g1",
        "name": "Sales",
        "clientData": OURS,
    }
    assert build_plan(desired(groups=(group("sales", "Sales"),)), live(groups=(live_group,))).empty


def test_a_missing_created_group_is_named_when_resolving() -> None:
    """If a group's creation failed, resolving a contact body that needs it fails on that group."""
    plan = build_plan(desired(contact("ana", groups=("sales",)), groups=(group("sales"),)), live())
    create = next(i for i in plan.items if i.kind is Kind.CONTACT)
    with pytest.raises(KeyError, match="sales"):
        resolve_body(create.body, {})


def test_declared_client_data_keys_are_owned_and_cleared_when_dropped() -> None:
    """A manifest's own clientData key is written, recorded, and removed once dropped."""
    declared = contact("ana", clientData=[{"key": "crm.id", "value": "42"}])
    plan = build_plan(desired(declared), live())
    (create,) = plan.changes
    assert {"key": "crm.id", "value": "42"} in create.body["clientData"]
    assert {"key": "reconciler.fields", "value": "clientData.crm.id"} in create.body["clientData"]
    applied = person(
        "people/c1",
        clientData=stamp(
            "reconciler",
            "ana",
            "clientData.crm.id",
            {"key": "crm.id", "value": "42"},
            {"key": "x.app", "value": "1"},
        ),
    )
    assert build_plan(desired(declared), live(applied)).empty
    (update,) = build_plan(desired(contact("ana")), live(applied)).changes
    keys = [entry["key"] for entry in update.body["clientData"]]
    assert "crm.id" not in keys
    assert "x.app" in keys
