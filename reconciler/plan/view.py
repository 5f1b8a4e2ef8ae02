"""The one data source every renderer reads: a plan as plain, JSON-ready data.

The JSON output *is* this view; the text and markdown renderers format it. ``redact=True``
replaces every personal value with a mask while keeping which fields change, so a plan can be
pasted into a pull request or a ticket without leaking an address book. For readability,
memberships show group manifest names where the group is ours, and clientData shows
``key=value`` strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.plan.model import Action, Plan, PlanItem

FORMAT_VERSION = 1
REDACTED = "(redacted)"


def _labelled(value: Any, labels: Mapping[str, str]) -> Any:
    if isinstance(value, list):
        return [labels.get(v, v) if isinstance(v, str) else v for v in value]
    return value


def _value(value: Any, field: str, labels: Mapping[str, str], redact: bool) -> Any:
    if value is None:
        return None
    if redact:
        return REDACTED
    if field == "memberships":
        return _labelled(value, labels)
    if field == "clientData" and isinstance(value, list):
        return [f"{e.get('key')}={e.get('value')}" for e in value if isinstance(e, Mapping)]
    return value


def item_view(item: PlanItem, labels: Mapping[str, str], redact: bool) -> dict[str, Any]:
    """One item: identity, action, reason and per-field before/after; ``previous_name`` for a
    rename and ``destroys_unmanaged`` for a delete of fields a person added, only when set."""
    view: dict[str, Any] = {
        "kind": item.kind.value,
        "name": item.key,
        "action": item.action.value,
        "resource_name": item.resource_name,
        "reason": item.reason,
        "fields": [
            {
                "field": change.field,
                "before": _value(change.before, change.field, labels, redact),
                "after": _value(change.after, change.field, labels, redact),
                "cause": "drift" if change.field in item.drift else "intent",
            }
            for change in item.changes
        ],
    }
    if item.previous_key is not None:
        view["previous_name"] = item.previous_key
    if item.unmanaged:
        view["destroys_unmanaged"] = list(item.unmanaged)
    changed = {change.field for change in item.changes}
    if left := [f for f in item.drift if f not in changed]:
        view["drift_not_written"] = left
    return view


def plan_view(plan: Plan, *, redact: bool = False) -> dict[str, Any]:
    """The whole plan as JSON-ready data (``format_version`` versions this shape). A kept orphan
    says why in ``kept_because`` (``pruning-off``, ``withheld``, ``protected``): programs branch
    on that, never on ``reason``, which is for people."""
    summary = plan.summary()
    return {
        "format_version": FORMAT_VERSION,
        "drift_only": plan.drift_only,
        "owner": plan.owner,
        "revision": plan.revision,
        "summary": {
            "add": summary.add,
            "change": summary.change,
            "adopt": summary.adopt,
            "destroy": summary.destroy,
            "unchanged": summary.unchanged,
            "orphaned": summary.orphaned,
        },
        "changes": [
            item_view(item, plan.group_labels, redact)
            for item in plan.items
            if item.action is not Action.NOOP
        ],
        "kept": [
            {
                "kind": i.kind.value,
                "name": i.key,
                "resource_name": i.resource_name,
                "reason": i.reason,
                "orphan": i.orphan,
            }
            | ({"kept_because": i.kept.value} if i.kept is not None else {})
            | ({"drift_not_written": list(i.drift)} if i.drift else {})
            for i in plan.items
            if i.action is Action.NOOP
        ],
        "warnings": list(plan.warnings),
        "redacted": redact,
    }


NO_CHANGES = "No changes. The live contacts match the manifests."
NO_DRIFT = "No drift. The live contacts are as the reconciler last applied them."


def in_sync(view: Mapping[str, Any]) -> bool:
    """Nothing to change and nothing orphaned (a drift-only plan: no drift at all)."""
    if view["drift_only"]:
        return not view["changes"] and not view["kept"]
    return not view["changes"] and not view["summary"]["orphaned"]


def in_sync_line(view: Mapping[str, Any]) -> str:
    """What a plan that is :func:`in_sync` says instead of its summary line."""
    return NO_DRIFT if view["drift_only"] else NO_CHANGES


def summary_line(view: Mapping[str, Any]) -> str:
    """Terraform's line; adoptions and orphans (kept although their manifest is gone) get their
    own count when there are any. A drift-only plan says so, and counts drifted contacts."""
    s = view["summary"]
    if view["drift_only"]:
        written = len(view["changes"])
        drifted = written + len(view["kept"])
        return (
            f"Drift-only plan: {drifted} contact(s) changed live since last applied, "
            f"{written} of them to write back; changes the manifests ask for are not shown."
        )
    adopt = f"{s['adopt']} to adopt, " if s["adopt"] else ""
    orphaned = f", {s['orphaned']} orphaned" if s["orphaned"] else ""
    return (
        f"Plan: {adopt}{s['add']} to add, {s['change']} to change, "
        f"{s['destroy']} to destroy{orphaned}."
    )


def revision_line(view: Mapping[str, Any]) -> str | None:
    """Which revision of the manifests the plan was made from, when known."""
    return f"Manifests revision: {view['revision']}" if view["revision"] else None
