"""One test per safety guard: nothing is deleted unless it is clearly meant to be."""

from __future__ import annotations

import pytest

from reconciler.plan import (
    Action,
    AmbiguousAdoption,
    DeletionCapExceeded,
    DuplicateOwnership,
    EmptyDesiredRefused,
    GroupNameTaken,
    Kept,
    PlanError,
    PlanOptions,
    UnknownGroup,
    build_plan,
)
from tests.support.manifests import contact, desired, group
from tests.support.persons import live, person, stamp


def managed(n: int, *, protected: frozenset[int] = frozenset()) -> list[dict[str, object]]:
    people = []
    for i in range(n):
        extra = [{"key": "reconciler.prune", "value": "false"}] if i in protected else []
        people.append(
            person(
                f"people/c{i}",
                etag=f"e{i}",
                urls=[{"value": f"u{i}"}],
                clientData=[*stamp("reconciler", f"c{i}", "urls"), *extra],
            )
        )
    return people


def keep_first(n: int) -> list[object]:
    return [contact(f"c{i}", urls=[{"value": f"u{i}"}]) for i in range(n)]


def test_no_pruning_without_the_prune_option() -> None:
    """Orphans are listed as kept no-ops, never deleted, when prune is off."""
    plan = build_plan(desired(*keep_first(1)), live(*managed(3)))
    assert plan.empty
    assert [(i.action, i.key) for i in plan.items] == [(Action.NOOP, "c1"), (Action.NOOP, "c2")]


def test_prune_deletes_orphans_with_the_etag_seen() -> None:
    """With prune, a contact whose manifest is gone is deleted; the etag seen is recorded."""
    plan = build_plan(desired(*keep_first(3)), live(*managed(4)), PlanOptions(prune=True))
    (item,) = plan.changes
    assert (item.action, item.key, item.resource_name, item.etag) == (
        Action.DELETE,
        "c3",
        "people/c3",
        "e3",
    )


def test_prune_false_stamp_protects_a_contact_whose_manifest_is_gone() -> None:
    """The protection is read from the live stamp, so it holds after the manifest is deleted."""
    plan = build_plan(
        desired(*keep_first(3)),
        live(*managed(5, protected=frozenset({4}))),
        PlanOptions(prune=True),
    )
    assert [i.key for i in plan.changes] == ["c3"]
    (kept,) = [i for i in plan.items if i.action is Action.NOOP]
    assert kept.key == "c4"
    assert "prune" in kept.reason


def test_prune_annotation_is_recorded_in_the_stamp() -> None:
    """reconciler/prune: "false" is written into the live stamp as reconciler.prune=false."""
    spec = contact("c0", annotations={"reconciler/prune": "false"}, urls=[{"value": "u0"}])
    plan = build_plan(desired(spec), live(*managed(1)))
    (item,) = plan.changes
    assert item.update_mask == ("clientData",)
    assert {"key": "reconciler.prune", "value": "false"} in item.body["clientData"]


@pytest.mark.parametrize(("desired_complete", "live_complete"), [(False, True), (True, False)])
def test_no_deletion_when_loading_or_listing_was_partial(
    desired_complete: bool, live_complete: bool
) -> None:
    """An incomplete load or listing withholds every deletion and says so."""
    plan = build_plan(
        desired(*keep_first(1), complete=desired_complete),
        live(*managed(3), complete=live_complete),
        PlanOptions(prune=True),
    )
    assert not [i for i in plan.items if i.action is Action.DELETE]
    assert plan.warnings
    assert "withheld" in plan.warnings[0]
    assert {i.kept for i in plan.items} == {Kept.WITHHELD}


def test_every_kept_orphan_says_why_in_a_structured_marker() -> None:
    """Pruning off, protected: each kept orphan carries its :class:`Kept` marker (what the
    status model reads); changes carry none."""
    off = build_plan(desired(*keep_first(1)), live(*managed(2)))
    assert [(i.key, i.kept) for i in off.items] == [("c1", Kept.PRUNING_OFF)]
    on = build_plan(
        desired(*keep_first(1)),
        live(*managed(3, protected=frozenset({2}))),
        PlanOptions(prune=True),
    )
    assert [(i.key, i.action, i.kept) for i in on.items] == [
        ("c1", Action.DELETE, None),
        ("c2", Action.NOOP, Kept.PROTECTED),
    ]


def test_empty_desired_set_is_refused_rather_than_pruned() -> None:
    """No manifest left while contacts are managed: refused unless explicitly allowed."""
    with pytest.raises(EmptyDesiredRefused, match="no contact manifest"):
        build_plan(desired(), live(*managed(2)), PlanOptions(prune=True))
    plan = build_plan(
        desired(),
        live(*managed(2)),
        PlanOptions(prune=True, allow_empty_desired=True, allow_mass_delete=True),
    )
    assert len(plan.changes) == 2


def test_deletion_count_cap_refuses_unless_overridden() -> None:
    """More deletions than max_deletes: refused; the message names the override only in the
    spelling of the command in use, and no flag at all when that command has none."""
    flags = {"allow_mass_delete": "--allow-mass-delete", "max_deletes": "--max-deletes"}
    with pytest.raises(DeletionCapExceeded) as refused:
        build_plan(
            desired(*keep_first(7)),
            live(*managed(10)),
            PlanOptions(prune=True, max_deletes=2, flags=flags),
        )
    message = str(refused.value)
    assert message.startswith("refusing to delete 3 of 10 managed contacts")
    assert "limit is 2 contacts (--max-deletes)" in message
    assert message.endswith("or pass --allow-mass-delete to delete them anyway")
    with pytest.raises(DeletionCapExceeded) as refused:
        build_plan(
            desired(*keep_first(7)), live(*managed(10)), PlanOptions(prune=True, max_deletes=2)
        )
    assert "--" not in str(refused.value)
    assert "allow_mass_delete" not in str(refused.value)
    assert "this command has no option to delete them anyway" in str(refused.value)
    plan = build_plan(
        desired(*keep_first(7)),
        live(*managed(10)),
        PlanOptions(prune=True, max_deletes=2, allow_mass_delete=True),
    )
    assert len(plan.changes) == 3


def test_deletion_share_cap_refuses_unless_overridden() -> None:
    """12 of 40 (30%) is over the 25% share even though under the count cap."""
    with pytest.raises(DeletionCapExceeded, match="30%"):
        build_plan(desired(*keep_first(28)), live(*managed(40)), PlanOptions(prune=True))
    small = build_plan(desired(*keep_first(1)), live(*managed(2)), PlanOptions(prune=True))
    assert len(small.changes) == 1  # below share_floor: deleting 1 of 2 is not a mass deletion


def test_ambiguous_adoption_two_live_contacts_is_an_error() -> None:
    """One manifest matching two unstamped live contacts by email is an error."""
    people = [person(f"people/c{i}", emailAddresses=[{"value": "jane@x.org"}]) for i in range(2)]
    with pytest.raises(AmbiguousAdoption, match="matches 2 unstamped"):
        build_plan(
            desired(contact("jane", emailAddresses=[{"value": "jane@x.org"}])),
            live(*people),
            PlanOptions(adopt_by_email=True),
        )


def test_ambiguous_adoption_two_manifests_is_an_error() -> None:
    """One live contact matching two adopting manifests is an error."""
    one = person("people/c1", emailAddresses=[{"value": "a@x.org"}, {"value": "b@x.org"}])
    specs = [
        contact("a", emailAddresses=[{"value": "a@x.org"}]),
        contact("b", emailAddresses=[{"value": "b@x.org"}]),
    ]
    with pytest.raises(AmbiguousAdoption, match="matches both"):
        build_plan(desired(*specs), live(one), PlanOptions(adopt_by_email=True))


def test_error_messages_carry_no_contact_data() -> None:
    """Errors name manifests and resource names, never emails or other contact data."""
    people = [person(f"people/c{i}", emailAddresses=[{"value": "jane@x.org"}]) for i in range(2)]
    with pytest.raises(AmbiguousAdoption) as caught:
        build_plan(
            desired(contact("jane", emailAddresses=[{"value": "jane@x.org"}])),
            live(*people),
            PlanOptions(adopt_by_email=True),
        )
    assert "jane@x.org" not in str(caught.value)


def test_duplicate_stamps_are_an_error_not_a_guess() -> None:
    """Two live contacts stamped with the same manifest name stop the plan."""
    people = [person(f"people/c{i}", clientData=stamp("reconciler", "jane", "")) for i in range(2)]
    with pytest.raises(DuplicateOwnership, match="people/c0 and people/c1"):
        build_plan(desired(contact("jane")), live(*people))


def test_unknown_group_and_taken_group_name_are_errors() -> None:
    """A group no manifest defines, or a new group clashing with an unowned one, is an error."""
    with pytest.raises(UnknownGroup, match="'vip'"):
        build_plan(desired(contact("jane", groups=("vip",))), live())
    taken = {
        "resourceName": "contactGroups/x",
        "etag": "g",
        "name": "VIP",
        "groupType": "USER_CONTACT_GROUP",
    }
    with pytest.raises(GroupNameTaken, match="contactGroups/x"):
        build_plan(desired(groups=(group("vip", "VIP"),)), live(groups=(taken,)))


def test_duplicate_manifest_names_are_an_error() -> None:
    """Two manifests with one metadata.name are refused."""
    with pytest.raises(PlanError, match="defined twice"):
        build_plan(desired(contact("jane"), contact("jane")), live())


def test_renaming_our_group_onto_a_label_a_person_made_is_an_error() -> None:
    """A rename onto the name of a live group we do not manage is refused when planning, like
    the same clash on create, instead of an update the API answers 409 on every pass."""
    ours = {
        "resourceName": "contactGroups/ours",
        "etag": "g1",
        "name": "Pals",
        "groupType": "USER_CONTACT_GROUP",
        "clientData": stamp("reconciler", "pals", "name"),
    }
    theirs = {
        "resourceName": "contactGroups/theirs",
        "etag": "g2",
        "name": "Friends",
        "groupType": "USER_CONTACT_GROUP",
    }
    with pytest.raises(GroupNameTaken, match=r"renamed to the name of live group contactGroups/t"):
        build_plan(desired(groups=(group("pals", "friends"),)), live(groups=(ours, theirs)))
    plan = build_plan(desired(groups=(group("pals", "PALS"),)), live(groups=(ours, theirs)))
    assert [item.action for item in plan.items] == [Action.UPDATE]


def test_a_plan_that_would_exceed_the_contacts_a_user_may_have_is_refused() -> None:
    """Live contacts (anyone's) plus creates minus deletes over the per-user limit: refused with
    the numbers; a plan that lands exactly on the limit, or frees room first, goes ahead."""
    from reconciler.model.limits import MAX_CONTACTS_PER_USER
    from reconciler.plan import ContactLimitExceeded

    others = [person(f"people/o{i}") for i in range(MAX_CONTACTS_PER_USER - 10)]
    wanted = desired(*[contact(f"new-{i}") for i in range(13)])
    with pytest.raises(ContactLimitExceeded) as refused:
        build_plan(wanted, live(*others))
    assert str(refused.value).startswith(
        "refusing the plan: the address book would hold 25,003 contacts (24,990 now, 13 to "
        "create, 0 to delete), and Google Contacts keeps at most 25,000 per user; remove 3"
    )
    assert len(build_plan(desired(*wanted.contacts[:10]), live(*others)).changes) == 10
    ours = managed(3)
    plan = build_plan(wanted, live(*others[:-3], *ours), PlanOptions(prune=True))
    assert plan.summary().add == 13
    assert plan.summary().destroy == 3


def test_a_withheld_mass_deletion_keeps_only_the_deletions() -> None:
    """With withhold_mass_delete (the controller), deletions over the cap become withheld
    no-ops with a warning naming the count and the override, and every other change of the
    plan stays in it."""
    flags = {"allow_mass_delete": "--allow-mass-delete"}
    options = PlanOptions(prune=True, max_deletes=2, withhold_mass_delete=True, flags=flags)
    plan = build_plan(desired(*keep_first(7)), live(*managed(10)), options)
    assert plan.withheld_deletes == 3
    assert not any(item.action is Action.DELETE for item in plan.items)
    assert sum(1 for item in plan.items if item.kept is Kept.WITHHELD) == 3
    assert "withholding the deletion of 3 of 10" in plan.warnings[0]
    assert "--allow-mass-delete" in plan.warnings[0]
    edited = [*keep_first(6), contact("c6", urls=[{"value": "changed"}]), contact("new")]
    plan = build_plan(desired(*edited), live(*managed(10)), options)
    assert sorted(item.action for item in plan.changes) == [Action.CREATE, Action.UPDATE]
    assert plan.withheld_deletes == 3
