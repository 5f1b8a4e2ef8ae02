"""Human plan output in the style of ``terraform plan``.

One block per contact or group (``+`` create, ``~`` update or adopt, ``-`` delete) with a line
per changed field (``# drift`` after a change the live side made, the rest being intent), then
the summary line, which other tools may parse. ``compact=True`` prints
one line per item instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.plan.model import Plan
from reconciler.plan.view import in_sync, in_sync_line, plan_view, revision_line, summary_line

SYMBOLS = {"create": "+", "update": "~", "adopt": "~", "delete": "-", "noop": " "}
VERBS = {
    "create": "will be created",
    "update": "will be updated in place",
    "adopt": "will be adopted and updated in place",
    "delete": "will be destroyed",
}
HEADER = "The reconciler will perform the following actions:"
HEADER_DRIFT = "Changed outside the reconciler since it last applied them (written back on apply):"


def format_value(value: Any) -> str:
    """A field value on one line: JSON with sorted keys, unicode kept readable."""
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def field_lines(change: Mapping[str, Any], width: int) -> str:
    """``+ f = v`` for a new field, ``- f = v -> null`` for a cleared one, ``~ f = a -> b``."""
    name = change["field"].ljust(width)
    before, after = change["before"], change["after"]
    if before is None:
        return f"+ {name} = {format_value(after)}"
    if after is None:
        return f"- {name} = {format_value(before)} -> null"
    return f"~ {name} = {format_value(before)} -> {format_value(after)}"


def item_block(item: Mapping[str, Any]) -> list[str]:
    """The lines of one item, indented like Terraform's."""
    action, kind, name = item["action"], item["kind"], item["name"]
    where = f" ({item['resource_name']})" if item["resource_name"] else ""
    verb = VERBS[action]
    if "previous_name" in item:
        verb = f'will be renamed from "{item["previous_name"]}"'
        verb += " and updated in place" if _beyond_stamp(item) else ""
    if item.get("destroys_unmanaged"):
        verb += f", with fields a person added: {', '.join(item['destroys_unmanaged'])}"
    lines = [f'  # {kind} "{name}"{where} {verb}']
    head = f'  {SYMBOLS[action]} {kind} "{name}"'
    if not item["fields"]:
        return [*lines, head]
    width = max(len(field["field"]) for field in item["fields"])
    lines.append(head + " {")
    lines += [
        f"      {field_lines(field, width)}" + ("  # drift" if field["cause"] == "drift" else "")
        for field in item["fields"]
    ]
    if item.get("drift_not_written"):
        left = ", ".join(item["drift_not_written"])
        lines.append(f"      # drift not written (drift policy report): {left}")
    lines.append("    }")
    return lines


def _beyond_stamp(item: Mapping[str, Any]) -> bool:
    """Whether a renamed item changes more than its clientData (where the stamp lives)."""
    return any(field["field"] != "clientData" for field in item["fields"])


def compact_line(item: Mapping[str, Any]) -> str:
    fields = ", ".join(field["field"] for field in item["fields"])
    extra = f" ({item['action']}: {fields})" if fields else f" ({item['action']})"
    return f'{SYMBOLS[item["action"]]} {item["kind"]} "{item["name"]}"{extra}'


def render_text(plan: Plan, *, redact: bool = False, compact: bool = False) -> str:
    """The plan for a terminal, ending in a newline."""
    view = plan_view(plan, redact=redact)
    lines: list[str] = []
    revision = revision_line(view)
    if revision:
        lines += [revision, ""]
    if view["changes"]:
        if compact:
            lines += [compact_line(item) for item in view["changes"]]
        else:
            lines += [HEADER_DRIFT if view["drift_only"] else HEADER, ""]
            for item in view["changes"]:
                lines += [*item_block(item), ""]
    for kept in view["kept"]:
        lines.append(f'  # {kept["kind"]} "{kept["name"]}" is kept: {kept["reason"]}')
    if view["kept"]:
        lines.append("")
    lines += [f"Warning: {warning}" for warning in view["warnings"]]
    lines.append(in_sync_line(view) if in_sync(view) else summary_line(view))
    return "\n".join(lines) + "\n"
