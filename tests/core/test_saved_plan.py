"""Saved plans load back to the very same plan, and bad files fail with a clear message."""

from __future__ import annotations

import json

import pytest

from reconciler.plan import SavedPlanError, dumps_plan, loads_plan
from tests.support.plans import sample_plan


def test_a_saved_plan_loads_back_equal() -> None:
    """dumps then loads gives back an equal plan, waves included."""
    plan = sample_plan()
    again = loads_plan(dumps_plan(plan))
    assert again == plan
    assert again.waves == plan.waves


def test_a_saved_plan_records_every_etag_seen() -> None:
    """The saved file records the etag of every live contact the plan saw."""
    document = json.loads(dumps_plan(sample_plan()))
    assert document["etags"] == {
        "people/c1": "e1",
        "people/c2": "e2",
        "people/c3": "e3",
        "people/c4": "e4",
    }
    assert document["format_version"] == 1


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
    document = json.loads(dumps_plan(sample_plan()))
    document["items"][1]["action"] = "explode"
    with pytest.raises(SavedPlanError, match=r"plan.json: corrupt saved plan at items\.1\.action"):
        loads_plan(json.dumps(document), source="plan.json")


def test_waves_must_schedule_every_change_once() -> None:
    """Waves that drop or invent items make the file corrupt."""
    document = json.loads(dumps_plan(sample_plan()))
    document["waves"][0]["batches"][0]["items"] = [99]
    with pytest.raises(SavedPlanError, match="does not exist"):
        loads_plan(json.dumps(document))
    document["waves"][0]["batches"][0]["items"] = []
    with pytest.raises(SavedPlanError, match="exactly once"):
        loads_plan(json.dumps(document))
