"""Renames keep the contact; deletes say what a person added that goes with them.

A manifest lists the names it had before (``reconciler/previous-names``), in the spirit of
Terraform's ``moved`` blocks: the live contact stamped with an old name is renamed in place (its
stamp rewritten), so it keeps its resource name and every field a person added, even with
pruning on.
"""

from __future__ import annotations

import json

import pytest

from reconciler.model import PREVIOUS_NAMES_ANNOTATION
from reconciler.plan import Action, PlanError, PlanOptions, build_plan, render_json, render_text
from tests.support.manifests import contact, desired
from tests.support.persons import live, person, stamp

NAMES = [{"givenName": "Jane"}]
EMAILS = [{"value": "jane@example.com"}]
PHONE = [{"value": "+1 650 555 0100"}]
BIO = [{"value": "Met at the conference"}]


def jane_live(name: str = "jane-old", rn: str = "people/c1") -> dict[str, object]:
    """Jane as we wrote her under ``name``, plus a phone number and a biography a person
    added on their phone (fields our stamp does not record)."""
    return person(
        rn,
        names=NAMES,
        emailAddresses=EMAILS,
        phoneNumbers=PHONE,
        biographies=BIO,
        clientData=stamp("reconciler", name, "emailAddresses,names"),
    )


def renamed(previous: str = "jane-old") -> object:
    return contact(
        "jane",
        annotations={PREVIOUS_NAMES_ANNOTATION: previous},
        names=NAMES,
        emailAddresses=EMAILS,
    )


def test_a_renamed_manifest_updates_the_contact_stamped_with_its_old_name() -> None:
    """With --prune, a manifest renamed from jane-old to jane is one in-place update of
    people/c1 that rewrites the stamp: no create, no delete, no other field touched."""
    plan = build_plan(desired(renamed()), live(jane_live()), PlanOptions(prune=True))
    (item,) = plan.changes
    assert item.action is Action.UPDATE
    assert item.key == "jane"
    assert item.previous_key == "jane-old"
    assert item.resource_name == "people/c1"
    assert item.update_mask == ("clientData",)
    assert "phoneNumbers" not in item.body
    assert "biographies" not in item.body
    stamps = {e["key"]: e["value"] for e in item.body["clientData"]}
    assert stamps["reconciler.name"] == "jane"
    summary = plan.summary()
    assert (summary.add, summary.change, summary.destroy) == (0, 1, 0)


def test_the_plan_shows_will_be_renamed() -> None:
    """Text and JSON views name the old name."""
    plan = build_plan(desired(renamed()), live(jane_live()), PlanOptions(prune=True))
    text = render_text(plan)
    assert 'contact "jane" (people/c1) will be renamed from "jane-old"' in text
    (change,) = json.loads(render_json(plan))["changes"]
    assert change["previous_name"] == "jane-old"


def test_any_listed_previous_name_matches_and_the_current_name_wins() -> None:
    """Every listed previous name is looked for; a contact already stamped with the current
    name is simply that contact (the rename happened already)."""
    plan = build_plan(desired(renamed("a, jane-old")), live(jane_live()), PlanOptions())
    assert [i.previous_key for i in plan.changes] == ["jane-old"]
    done = build_plan(desired(renamed()), live(jane_live("jane")), PlanOptions(prune=True))
    assert done.empty


def test_two_live_contacts_under_previous_names_are_an_error() -> None:
    """Two live contacts stamped with two of the previous names: which one to keep is the
    user's call, so the plan refuses and names both."""
    both = live(jane_live("a", "people/c1"), jane_live("b", "people/c2"))
    with pytest.raises(PlanError, match=r"people/c1.*people/c2"):
        build_plan(desired(renamed("a,b")), both, PlanOptions(prune=True))


def test_a_delete_lists_the_fields_a_person_added() -> None:
    """With --prune, deleting a contact whose manifest is gone lists every field destroyed with
    it, and names the ones a person added (not ours) separately."""
    other = contact("other", names=[{"givenName": "Other"}])
    plan = build_plan(
        desired(other), live(jane_live()), PlanOptions(prune=True, allow_mass_delete=True)
    )
    (item,) = [i for i in plan.changes if i.action is Action.DELETE]
    assert item.action is Action.DELETE
    assert {c.field for c in item.changes} >= {"names", "emailAddresses", "phoneNumbers"}
    assert "biographies" in {c.field for c in item.changes}
    assert item.unmanaged == ("biographies", "phoneNumbers")
    text = render_text(plan)
    assert "will be destroyed, with fields a person added: biographies, phoneNumbers" in text
    (change,) = [c for c in json.loads(render_json(plan))["changes"] if c["action"] == "delete"]
    assert change["destroys_unmanaged"] == ["biographies", "phoneNumbers"]
