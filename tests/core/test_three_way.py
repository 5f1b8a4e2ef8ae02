"""Three-way merge: write what the manifest declares, clear what it dropped, keep the rest."""

from __future__ import annotations

from reconciler.plan import Action, PlanOptions, build_plan
from tests.support.manifests import contact, desired, group
from tests.support.persons import live, person, stamp

MY = {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}}


def member(rn: str) -> dict[str, dict[str, str]]:
    return {"contactGroupMembership": {"contactGroupResourceName": rn}}


def test_only_declared_fields_are_written() -> None:
    """A changed declared field is sent whole; an unmanaged field added on a phone is kept."""
    live_person = person(
        "people/c1",
        emailAddresses=[{"value": "old@x.org"}],
        nicknames=[{"value": "JD"}],
        clientData=stamp("reconciler", "jane", "emailAddresses"),
    )
    plan = build_plan(
        desired(contact("jane", emailAddresses=[{"value": "new@x.org"}])), live(live_person)
    )
    (item,) = plan.changes
    assert item.action is Action.UPDATE
    # clientData carries the stamp, whose last-applied record changes with the manifest value
    assert item.update_mask == ("clientData", "emailAddresses")
    assert item.body["emailAddresses"] == [{"value": "new@x.org"}]
    assert "nicknames" not in item.body
    assert set(item.body) == {"resourceName", "etag", "clientData", "emailAddresses"}
    assert item.etag == "e1"


def test_dropped_field_is_cleared_only_if_we_managed_it() -> None:
    """urls was managed and dropped: cleared. nicknames was never ours: untouched."""
    live_person = person(
        "people/c1",
        emailAddresses=[{"value": "a@x.org"}],
        urls=[{"value": "https://x.org"}],
        nicknames=[{"value": "JD"}],
        clientData=stamp("reconciler", "jane", "emailAddresses,urls"),
    )
    plan = build_plan(
        desired(contact("jane", emailAddresses=[{"value": "a@x.org"}])), live(live_person)
    )
    (item,) = plan.changes
    assert set(item.update_mask) == {"urls", "clientData"}
    assert "urls" not in item.body or item.body["urls"] == []
    assert "nicknames" not in item.body
    fields = {c.field: c for c in item.changes}
    assert fields["urls"].after is None
    assert {"key": "reconciler.fields", "value": "emailAddresses"} in item.body["clientData"]


def test_other_apps_client_data_is_preserved() -> None:
    """Another app's clientData entry survives our clientData rewrite."""
    live_person = person(
        "people/c1",
        emailAddresses=[{"value": "a@x.org"}],
        clientData=stamp("reconciler", "jane", "emailAddresses", {"key": "crm.id", "value": "42"}),
    )
    plan = build_plan(
        desired(contact("jane", emailAddresses=[{"value": "a@x.org"}], urls=[{"value": "u"}])),
        live(live_person),
    )
    (item,) = plan.changes
    assert {"key": "crm.id", "value": "42"} in item.body["clientData"]
    assert set(item.update_mask) == {"clientData", "urls"}


def test_memberships_change_only_for_groups_we_own() -> None:
    """Starred and an unowned group stay; our stale group goes; our desired group is added."""
    groups = (
        {
            "resourceName": "contactGroups/ours1",
            "etag": "g",
            "name": "Sales",
            "groupType": "USER_CONTACT_GROUP",
            "clientData": [
                {"key": "reconciler.owner", "value": "reconciler"},
                {"key": "reconciler.name", "value": "sales"},
            ],
        },
        {
            "resourceName": "contactGroups/ours2",
            "etag": "g",
            "name": "Old",
            "groupType": "USER_CONTACT_GROUP",
            "clientData": [
                {"key": "reconciler.owner", "value": "reconciler"},
                {"key": "reconciler.name", "value": "old"},
            ],
        },
        {
            "resourceName": "contactGroups/family",
            "etag": "g",
            "name": "Family",
            "groupType": "USER_CONTACT_GROUP",
        },
    )
    live_person = person(
        "people/c1",
        emailAddresses=[{"value": "a@x.org"}],
        clientData=stamp("reconciler", "jane", "emailAddresses"),
        memberships=[
            MY,
            member("contactGroups/starred"),
            member("contactGroups/family"),
            member("contactGroups/ours2"),
        ],
    )
    plan = build_plan(
        desired(
            contact("jane", emailAddresses=[{"value": "a@x.org"}], groups=("sales",)),
            groups=(group("sales", "Sales"), group("old", "Old")),
        ),
        live(live_person, groups=groups),
    )
    (item,) = plan.changes
    assert item.update_mask == ("memberships",)
    assert [
        m["contactGroupMembership"]["contactGroupResourceName"] for m in item.body["memberships"]
    ] == [
        "contactGroups/myContacts",
        "contactGroups/starred",
        "contactGroups/family",
        "contactGroups/ours1",
    ]


def test_never_removes_the_last_membership() -> None:
    """Leaving our only group puts the contact in myContacts instead of no group at all."""
    groups = (
        {
            "resourceName": "contactGroups/ours",
            "etag": "g",
            "name": "Sales",
            "groupType": "USER_CONTACT_GROUP",
            "clientData": [
                {"key": "reconciler.owner", "value": "reconciler"},
                {"key": "reconciler.name", "value": "sales"},
            ],
        },
    )
    live_person = person(
        "people/c1",
        emailAddresses=[{"value": "a@x.org"}],
        clientData=stamp("reconciler", "jane", "emailAddresses"),
        memberships=[member("contactGroups/ours")],
    )
    plan = build_plan(
        desired(
            contact("jane", emailAddresses=[{"value": "a@x.org"}]),
            groups=(group("sales", "Sales"),),
        ),
        live(live_person, groups=groups),
    )
    (item,) = plan.changes
    assert item.body["memberships"] == [MY]


def test_contacts_of_another_owner_and_unstamped_ones_are_never_touched() -> None:
    """Same manifest name under another owner, or no stamp at all: create ours, touch neither."""
    theirs = person(
        "people/c1",
        emailAddresses=[{"value": "a@x.org"}],
        clientData=stamp("other", "jane", "emailAddresses"),
    )
    loose = person("people/c2", emailAddresses=[{"value": "a@x.org"}])
    plan = build_plan(
        desired(contact("jane", emailAddresses=[{"value": "a@x.org"}])),
        live(theirs, loose),
        PlanOptions(prune=True, allow_mass_delete=True),
    )
    assert [(i.action, i.resource_name) for i in plan.changes] == [(Action.CREATE, None)]


def test_adoption_by_annotation_matches_email_case_insensitively() -> None:
    """reconciler/adopt: email adopts the unstamped contact with that email, any case."""
    loose = person(
        "people/c2", emailAddresses=[{"value": "Jane@X.org"}], nicknames=[{"value": "JD"}]
    )
    spec = contact(
        "jane",
        annotations={"reconciler/adopt": "email"},
        emailAddresses=[{"value": "jane@x.org"}],
        names=[{"givenName": "Jane"}],
    )
    plan = build_plan(desired(spec), live(loose))
    (item,) = plan.changes
    assert item.action is Action.ADOPT
    assert item.resource_name == "people/c2"
    assert set(item.update_mask) == {"clientData", "names"}
    assert "nicknames" not in item.body


def test_adoption_by_option_and_without_a_match_creates() -> None:
    """adopt_by_email with no matching live contact creates a new one."""
    plan = build_plan(
        desired(contact("jane", emailAddresses=[{"value": "jane@x.org"}])),
        live(person("people/c2", emailAddresses=[{"value": "other@x.org"}])),
        PlanOptions(adopt_by_email=True),
    )
    assert [i.action for i in plan.changes] == [Action.CREATE]


def test_unchanged_contact_is_counted_not_listed() -> None:
    """An unchanged contact is counted as unchanged, not listed as an item."""
    live_person = person(
        "people/c1",
        emailAddresses=[{"value": "A@x.org", "metadata": {"primary": True}}],
        clientData=stamp("reconciler", "jane", "emailAddresses"),
    )
    plan = build_plan(
        desired(contact("jane", emailAddresses=[{"value": "a@x.org"}])), live(live_person)
    )
    assert plan.empty
    assert plan.summary().unchanged == 1
