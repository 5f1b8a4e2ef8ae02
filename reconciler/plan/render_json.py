"""Machine-readable plan output: the :mod:`~reconciler.plan.view` as JSON."""

from __future__ import annotations

import json

from reconciler.plan.model import Plan
from reconciler.plan.view import plan_view


def render_json(plan: Plan, *, redact: bool = False) -> str:
    """The plan as indented JSON with stable key order, ending in a newline."""
    return json.dumps(plan_view(plan, redact=redact), indent=2, ensure_ascii=False) + "\n"
