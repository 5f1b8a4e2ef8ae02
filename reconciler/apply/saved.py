"""Applying a saved plan exactly as it was shown, or not at all, item by item.

``reconciler plan --out`` saves a plan that someone reviews; ``reconciler apply PLANFILE`` must
then write exactly that. Anything that changed since (an etag that moved, a contact created or
deleted meanwhile) is refused with a reason rather than re-planned, and a conflict met while
writing is final: the executor gets no re-planner.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from reconciler.apply.engine import ApplyGateway, ApplySettings, Run, group_names
from reconciler.apply.journal import CreateJournal
from reconciler.apply.live import LiveRead, read_live, stamped_names
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome
from reconciler.clock import Clock, SystemClock
from reconciler.model import DesiredState
from reconciler.people.errors import PeopleError
from reconciler.plan.model import Action, Kind, Plan, PlanItem


def saved_plan_holds(plan: Plan, read: LiveRead) -> tuple[Plan, dict[str, str]]:
    """The part of a saved plan whose etags still hold, and why each other item was dropped.

    An item holds when the live object it was planned against is unchanged (same etag), or,
    for a create, when nothing carrying its stamp has appeared since.
    """
    people = {str(p.get("resourceName")): p for p in read.state.people}
    groups = {str(g.get("resourceName")): g for g in read.state.groups}
    stamped = stamped_names(read.state.people, plan.owner)
    stamped_groups = group_names(read.state.groups, plan.owner)
    kept: list[PlanItem] = []
    dropped: dict[str, str] = {}
    for item in plan.items:
        live = (people if item.kind is Kind.CONTACT else groups).get(item.resource_name or "")
        if item.action is Action.NOOP:
            kept.append(item)
        elif item.action is Action.CREATE:
            taken = stamped if item.kind is Kind.CONTACT else stamped_groups
            if item.key in taken or item.key in read.pending:
                dropped[item.key] = "created since the plan was saved; plan again"
            else:
                kept.append(item)
        elif live is None:
            dropped[item.key] = "gone since the plan was saved; plan again"
        elif item.etag is not None and str(live.get("etag")) != item.etag:
            dropped[item.key] = "changed since the plan was saved (etag differs); plan again"
        else:
            kept.append(item)
    return _keeping(plan, {(item.kind, item.key) for item in kept}), dropped


def _keeping(plan: Plan, keys: set[tuple[Kind, str]]) -> Plan:
    """``plan`` with only the items named by ``keys``, its batches otherwise as saved."""
    waves = []
    for wave in plan.waves:
        batches = tuple(
            replace(batch, items=items)
            for batch in wave.batches
            if (items := tuple(i for i in batch.items if (i.kind, i.key) in keys))
        )
        if batches:
            waves.append(replace(wave, batches=batches))
    items = tuple(item for item in plan.items if (item.kind, item.key) in keys)
    return replace(plan, items=items, waves=tuple(waves))


async def apply_saved(
    gateway: ApplyGateway,
    journal: CreateJournal,
    plan: Plan,
    settings: ApplySettings,
    *,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[Plan], bool] | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> ApplyResult:
    """Apply exactly a saved plan, item by item, refusing items whose etag changed since."""
    settings = replace(settings, plan=replace(settings.plan, owner=plan.owner))
    clock = clock or SystemClock()
    run = Run(
        gateway,
        journal,
        DesiredState(),
        settings,
        clock=clock,
        rng=rng or random.Random(),
        progress=progress,
        saved=True,
    )
    try:
        read = await read_live(
            gateway, journal, owner=plan.owner, settle=settings.executor.settle, now=clock.now
        )
    except PeopleError as error:
        run.result.errors.append(f"reading live state failed: {error}")
        return run.result
    run.live = read.state
    holding, dropped = saved_plan_holds(plan, read)
    kinds = {i.key: i.kind for i in plan.items}
    for key, reason in dropped.items():
        run.result.record(ObjectResult(str(kinds[key]), key, Outcome.CONFLICT, reason=reason))
    if on_plan is not None and not on_plan(holding):
        run.result.cancelled = True
        return run.result
    await run.execute(holding, pending=read.pending)
    return run.result
