"""Drift versus intent, through the real engine and emulator.

Every write stamps the fingerprint of each managed field's manifest value (the last-applied
record), so a later difference is intent when the manifest changed and drift when only the live
contact did. ``report`` never writes drift, on any pass; ``ignore`` neither writes nor shows it.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.apply.results import Outcome
from reconciler.plan import Action, build_plan, render_text
from reconciler.plan.options import DriftPolicy, PlanOptions
from tests.support.manifests import Contact, Spec, desired
from tests.support.world import World

JANE = {"names": [{"givenName": "Jane"}], "organizations": [{"name": "Acme", "title": "CTO"}]}


def jane(**fields: Any) -> Contact:
    return Contact("jane", Spec({**JANE, **fields}))


async def edited(world: World) -> dict[str, Any]:
    """Jane after a person renamed her Mallory on their phone."""
    (person,) = await world.people()
    await world.edit(
        person["resourceName"],
        {"etag": person["etag"], "names": [{"givenName": "Mallory"}]},
        "names",
    )
    (person,) = await world.people()
    return person


async def writes(world: World) -> int:
    stats: dict[str, Any] = await world.admin("GET", "stats")
    return sum(
        n
        for method, n in stats["by_method"].items()
        if any(w in method for w in ("create", "update", "delete", "Create", "Update", "Delete"))
    )


async def test_report_never_writes_drift_even_on_a_write_pass(world: World) -> None:
    """A person's edit survives an apply under report (the controller's start pass), and a
    manifest change to another field is written alone, the edit still kept."""
    assert (await world.apply(desired(jane()))).converged
    await edited(world)
    before = await writes(world)
    result = await world.apply(desired(jane()), drift_policy=DriftPolicy.REPORT)
    assert result.converged
    assert result.counts()[Outcome.UPDATED] == 0
    assert await writes(world) == before
    (person,) = await world.people()
    assert person["names"][0]["givenName"] == "Mallory"
    promoted = desired(jane(organizations=[{"name": "Acme", "title": "CEO"}]))
    result = await world.apply(promoted, drift_policy=DriftPolicy.REPORT)
    assert result.counts()[Outcome.UPDATED] == 1
    (person,) = await world.people()
    assert person["names"][0]["givenName"] == "Mallory"
    assert person["organizations"][0]["title"] == "CEO"
    again = await world.apply(promoted, drift_policy=DriftPolicy.REPORT)
    assert again.counts()[Outcome.UPDATED] == 0


async def test_the_plan_labels_drift_and_intent(world: World) -> None:
    """Under correct the drifted field is written back, labelled drift; a manifest change is
    labelled intent; report keeps the drift as a shown, unwritten item; ignore hides it."""
    assert (await world.apply(desired(jane()))).converged
    person = await edited(world)
    from reconciler.model import LiveState

    live = LiveState(people=[person])
    promoted = desired(jane(organizations=[{"name": "Acme", "title": "CEO"}]))
    correct = build_plan(promoted, live, PlanOptions())
    (item,) = correct.changes
    assert item.drift == ("names",)
    assert {c.field for c in item.changes} >= {"names", "organizations"}
    report = build_plan(promoted, live, PlanOptions(drift_policy=DriftPolicy.REPORT))
    (update,) = report.items
    assert "names" not in update.update_mask
    assert "organizations" in update.update_mask
    assert report.drift_left == {"jane": ("names",)}
    assert "# drift not written (drift policy report): names" in render_text(report)
    only_drift = build_plan(desired(jane()), live, PlanOptions(drift_policy=DriftPolicy.REPORT))
    assert only_drift.empty
    (kept,) = only_drift.items
    assert kept.action is Action.NOOP
    assert only_drift.drift_left == {"jane": ("names",)}
    assert only_drift.summary().unchanged == 1
    ignore = build_plan(desired(jane()), live, PlanOptions(drift_policy=DriftPolicy.IGNORE))
    assert ignore.empty
    assert ignore.drift_left == {}


async def test_correct_writes_drift_back(world: World) -> None:
    """The default policy corrects a person's edit, as before."""
    assert (await world.apply(desired(jane()))).converged
    await edited(world)
    result = await world.apply(desired(jane()))
    assert result.counts()[Outcome.UPDATED] == 1
    (person,) = await world.people()
    assert person["names"][0]["givenName"] == "Jane"


async def test_a_drift_only_plan_keeps_drift_and_drops_intent(world: World) -> None:
    """Reduced to drift: a manifest change disappears, the drifted field stays (written back
    under correct, shown as not written under report); it can be neither saved nor applied."""
    assert (await world.apply(desired(jane()))).converged
    person = await edited(world)
    from reconciler.model import LiveState
    from reconciler.plan import Binding, drift_only, dumps_plan

    live = LiveState(people=[person])
    promoted = desired(jane(organizations=[{"name": "Acme", "title": "CEO"}]))
    correct = drift_only(build_plan(promoted, live, PlanOptions()))
    (item,) = correct.items
    assert (item.action, [c.field for c in item.changes]) == (Action.UPDATE, ["names"])
    assert (correct.drift_only, correct.waves) == (True, ())
    report = drift_only(build_plan(promoted, live, PlanOptions(drift_policy=DriftPolicy.REPORT)))
    (kept,) = report.items
    assert (kept.action, kept.changes, kept.drift) == (Action.NOOP, (), ("names",))
    assert "names" in render_text(report)
    assert drift_only(build_plan(promoted, LiveState(people=[]), PlanOptions())).items == ()
    with pytest.raises(ValueError, match="drift-only"):
        dumps_plan(correct, Binding("embedded", "people/me", correct.owner))
