"""Drift-only plans: what changed live since we last wrote it, and nothing the manifests ask.

Terraform's refresh-only plan answers "what moved under me?" without mixing in the changes a
commit asks for. The full plan already labels every field change drift or intent (from the
last-applied fingerprint every write stamps); this view keeps only the drift: the drifted
fields of contacts updated or kept, and drops intent fields, creates, deletes, adoptions,
renames and kept orphans. Such a plan is for reading (and ``--detailed-exitcode``): it has no
waves, so it can neither be applied nor saved.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.plan.model import Action, Kind, Plan, PlanItem


def _drift_of(item: PlanItem) -> PlanItem | None:
    """``item`` narrowed to its drift, or None when it has none."""
    if item.kind is not Kind.CONTACT or not item.drift:
        return None
    if item.action not in (Action.UPDATE, Action.NOOP):
        return None
    changes = tuple(change for change in item.changes if change.field in item.drift)
    left = ", ".join(field for field in item.drift if field not in {c.field for c in changes})
    return replace(
        item,
        action=Action.UPDATE if changes else Action.NOOP,
        reason=f"changed live, not written (drift policy report): {left}"
        if left and not changes
        else "changed live since last applied",
        changes=changes,
        update_mask=tuple(field for field in item.update_mask if field in item.drift),
        previous_key=None,
        unmanaged=(),
        orphan=False,
        kept=None,
    )


def drift_only(plan: Plan) -> Plan:
    """``plan`` reduced to its drift (see the module docstring); ``drift_only`` marks it."""
    items = tuple(narrowed for item in plan.items if (narrowed := _drift_of(item)) is not None)
    return replace(plan, items=items, waves=(), unchanged=0, etags={}, drift_only=True)
