"""Golden files for the text, JSON and markdown renderers (one plan, every view).

Regenerate after an intended change with ``RECONCILER_UPDATE_GOLDEN=1 pytest tests/core``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.plan import (
    FORMAT_VERSION,
    Plan,
    build_plan,
    render_json,
    render_markdown,
    render_text,
)
from tests.support.manifests import desired
from tests.support.persons import live
from tests.support.plans import sample_plan

GOLDEN = Path(__file__).parent / "golden"


RENDERINGS: dict[str, Callable[[Plan], str]] = {
    "plan.txt": render_text,
    "plan-compact.txt": lambda p: render_text(p, compact=True),
    "plan-redacted.txt": lambda p: render_text(p, redact=True),
    "plan.json": render_json,
    "plan-redacted.json": lambda p: render_json(p, redact=True),
    "plan.md": render_markdown,
    "plan-redacted.md": lambda p: render_markdown(p, redact=True),
}


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_rendering_matches_golden_file(name: str) -> None:
    """Each view of the sample plan matches its golden file byte for byte."""
    got = RENDERINGS[name](sample_plan())
    path = GOLDEN / name
    if os.environ.get("RECONCILER_UPDATE_GOLDEN"):
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")


def test_summary_line_counts_adoptions_separately() -> None:
    """The summary line counts adoptions on their own, before the classic counts."""
    assert render_text(sample_plan()).splitlines()[-1] == (
        "Plan: 1 to adopt, 2 to add, 1 to change, 1 to destroy, 1 orphaned."
    )


def test_json_has_a_format_version_and_stable_action_strings() -> None:
    """JSON carries format_version, the action strings and before/after per field."""
    view = json.loads(render_json(sample_plan()))
    assert view["format_version"] == FORMAT_VERSION
    assert {c["action"] for c in view["changes"]} == {"create", "update", "adopt", "delete"}
    bob = next(c for c in view["changes"] if c["name"] == "bob")
    phones = next(f for f in bob["fields"] if f["field"] == "phoneNumbers")
    assert phones["before"] == [{"value": "(650) 555-0100"}]
    assert phones["after"] == [{"value": "+1 650 555 0199"}]


def test_redaction_hides_values_but_shows_fields() -> None:
    """With redact, no personal value appears in any view, but field names do."""
    for render in (render_text, render_json, render_markdown):
        out = render(sample_plan(), redact=True)
        for secret in ("Núñez", "ana@example.com", "555", "Acme", "bob.example"):
            assert secret not in out
        assert "phoneNumbers" in out
        assert "emailAddresses" in out


def test_an_empty_plan_says_so() -> None:
    """A plan with nothing to do says so in every view."""
    plan = build_plan(desired(), live())
    assert render_text(plan) == "No changes. The live contacts match the manifests.\n"
    assert "No changes" in render_markdown(plan)
    assert json.loads(render_json(plan))["changes"] == []
