"""Plan output for pull-request comments: a summary, a table, and the detail in a diff block.

The diff block puts ``+``/``-``/``~`` in the first column so that code hosts colour it.
"""

from __future__ import annotations

from reconciler.plan.model import Plan
from reconciler.plan.render_text import SYMBOLS, field_lines
from reconciler.plan.view import in_sync, in_sync_line, plan_view, revision_line, summary_line


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan, *, redact: bool = False) -> str:
    """The plan as GitHub-flavoured markdown, ending in a newline."""
    view = plan_view(plan, redact=redact)
    lines = ["### Contacts drift" if plan.drift_only else "### Contacts plan", ""]
    revision = revision_line(view)
    if revision:
        lines += [f"_{revision}_", ""]
    if in_sync(view):
        lines.append(f"**{in_sync_line(view)}**")
    elif not view["changes"]:
        lines.append(f"**{summary_line(view)}**")
    else:
        lines += [f"**{summary_line(view)}**", ""]
        lines += ["| | Kind | Name | Action | Fields |", "|---|---|---|---|---|"]
        for item in view["changes"]:
            fields = ", ".join(f"`{f['field']}`" for f in item["fields"]) or "-"
            action = item["action"]
            if "previous_name" in item:
                action += f" (renamed from `{_cell(item['previous_name'])}`)"
            if item.get("destroys_unmanaged"):
                added = ", ".join(f"`{f}`" for f in item["destroys_unmanaged"])
                action += f" (with fields a person added: {added})"
            lines.append(
                f"| `{SYMBOLS[item['action']]}` | {item['kind']} | `{_cell(item['name'])}` "
                f"| {action} | {fields} |"
            )
        lines += ["", "<details><summary>Field-level changes</summary>", "", "```diff"]
        for item in view["changes"]:
            lines.append(f'{SYMBOLS[item["action"]]} {item["kind"]} "{item["name"]}"')
            width = max((len(f["field"]) for f in item["fields"]), default=0)
            for field in item["fields"]:
                line = field_lines(field, width)
                lines.append(f"{line[0]}     {line[2:]}")
        lines += ["```", "", "</details>"]
    if view["kept"]:
        lines += ["", "Kept:", ""]
        lines += [f"- {k['kind']} `{_cell(k['name'])}`: {k['reason']}" for k in view["kept"]]
    if view["warnings"]:
        lines += [""] + [f"> **Warning:** {_cell(w)}" for w in view["warnings"]]
    if view["redacted"]:
        lines += ["", "_Values are redacted; field names are shown._"]
    return "\n".join(lines) + "\n"
