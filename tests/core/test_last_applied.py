"""The last-applied record in the stamp: written with every write, read back, never forced."""

from __future__ import annotations

from reconciler.model.stamps import APPLIED_KEY, Stamp, read_stamp
from reconciler.plan import PlanOptions, build_plan
from tests.support.manifests import contact, desired
from tests.support.persons import live, person, stamp

NAMES = [{"givenName": "Jane"}]


def test_a_stamp_with_a_record_reads_back_equal() -> None:
    """entries() then read_stamp() gives back the same stamp, record included."""
    written = Stamp("o", "jane", frozenset({"names"}), applied=(("names", "0123456789ab"),))
    assert read_stamp(written.entries()) == written
    assert written.applied_fingerprint("names") == "0123456789ab"
    assert written.applied_fingerprint("urls") is None


def test_a_create_records_what_it_applied() -> None:
    """A create's stamp carries the fingerprint of every field it writes."""
    plan = build_plan(desired(contact("jane", names=NAMES)), live(), PlanOptions())
    (item,) = plan.changes
    entries = {e["key"]: e["value"] for e in item.body["clientData"]}
    assert entries[APPLIED_KEY].startswith("names=")
    same = build_plan(
        desired(contact("jane", names=[{"givenName": " Jane"}])), live(), PlanOptions()
    )
    (again,) = same.changes
    assert again.body["clientData"] == item.body["clientData"]  # recorded in canonical form


def test_a_stamp_without_a_record_is_not_rewritten_just_to_add_one() -> None:
    """Contacts stamped before the record existed stay untouched while they match."""
    older = person("people/c1", names=NAMES, clientData=stamp("reconciler", "jane", "names"))
    plan = build_plan(desired(contact("jane", names=NAMES)), live(older), PlanOptions())
    assert plan.empty


def test_without_a_record_every_change_is_intent() -> None:
    """No record, no evidence of drift: a differing field is intent (written, as before)."""
    older = person(
        "people/c1",
        names=[{"givenName": "Mallory"}],
        clientData=stamp("reconciler", "jane", "names"),
    )
    plan = build_plan(desired(contact("jane", names=NAMES)), live(older), PlanOptions())
    (item,) = plan.changes
    assert item.drift == ()
    assert APPLIED_KEY in {e["key"] for e in item.body["clientData"]}
