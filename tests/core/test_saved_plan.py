"""Saved plans load back to the very same plan, and bad files fail with a clear message."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reconciler.plan import (
    Binding,
    SavedPlanError,
    SavedPlanMismatch,
    check_binding,
    dumps_plan,
    loads_plan,
)
from tests.support.plans import sample_plan

HERE = Binding("http://127.0.0.1:8080", "people/111", "reconciler")


def saved() -> str:
    """``sample_plan()`` saved as made at :data:`HERE`."""
    return dumps_plan(sample_plan(), HERE)


def test_a_saved_plan_loads_back_equal() -> None:
    """dumps then loads gives back an equal plan, waves included."""
    plan = sample_plan()
    again = loads_plan(dumps_plan(plan, HERE))
    assert again.plan == plan
    assert again.plan.waves == plan.waves
    assert again.binding == replace(HERE, revision=plan.revision)  # the plan's, stored once


def test_a_saved_plan_records_every_etag_seen() -> None:
    """The saved file records the etag of every live contact the plan saw."""
    document = json.loads(saved())
    assert document["etags"] == {
        "people/c1": "e1",
        "people/c2": "e2",
        "people/c3": "e3",
        "people/c4": "e4",
    }
    assert document["format_version"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"hello": 1}', "not a saved plan"),
        (
            '{"format": "reconciler-plan", "format_version": 99}',
            "format_version 99 is not supported",
        ),
    ],
)
def test_corrupt_or_incompatible_files_are_refused(text: str, message: str) -> None:
    """Invalid JSON, a foreign file or another format_version is refused clearly."""
    with pytest.raises(SavedPlanError, match=message):
        loads_plan(text, source="plan.json")


def test_a_corrupt_item_is_located() -> None:
    """A bad value inside the document is reported with its location."""
    document = json.loads(saved())
    document["items"][1]["action"] = "explode"
    with pytest.raises(SavedPlanError, match=r"plan.json: corrupt saved plan at items\.1\.action"):
        loads_plan(json.dumps(document), source="plan.json")


def test_waves_must_schedule_every_change_once() -> None:
    """Waves that drop or invent items make the file corrupt."""
    document = json.loads(saved())
    document["waves"][0]["batches"][0]["items"] = [99]
    with pytest.raises(SavedPlanError, match="does not exist"):
        loads_plan(json.dumps(document))
    document["waves"][0]["batches"][0]["items"] = []
    with pytest.raises(SavedPlanError, match="exactly once"):
        loads_plan(json.dumps(document))


def test_an_unbound_version_1_plan_is_refused() -> None:
    """Plans saved before binding existed (format_version 1) say nothing of where they belong,
    so they are refused rather than applied anywhere."""
    document = json.loads(saved())
    document["format_version"] = 1
    del document["binding"]
    with pytest.raises(SavedPlanError, match="format_version 1 is not supported"):
        loads_plan(json.dumps(document), source="plan.json")


@pytest.mark.parametrize(
    ("here", "says"),
    [
        (Binding("google", "people/111", "reconciler"), "the target is 'google'"),
        (Binding(HERE.target, "people/222", "reconciler"), "the address book is 'people/222'"),
        (Binding(HERE.target, "people/111", "other"), "the owner is 'other'"),
        (
            Binding(HERE.target, "people/111", "reconciler", revision="b" * 40),
            "the manifests revision",
        ),
    ],
)
def test_a_binding_differing_in_anything_is_refused(here: Binding, says: str) -> None:
    """Each of target, address book, owner and (when both know it) revision must match."""
    made = Binding(HERE.target, HERE.account, HERE.owner, revision="a" * 40)
    with pytest.raises(SavedPlanMismatch, match=f"plan.json: .*{says}"):
        check_binding(made, here, source="plan.json")


def test_the_same_binding_passes_and_an_unknown_revision_is_not_compared() -> None:
    """Applying where the plan was made is allowed; a revision only one side knows is no
    difference."""
    check_binding(HERE, HERE)
    check_binding(Binding(HERE.target, HERE.account, HERE.owner, revision="a" * 40), HERE)
