"""Results, their rendering, and which copy of a contact counts as the freshest."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.apply.live import fresher
from reconciler.apply.report import render_result
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome


def person(etag: str, updated: str) -> dict[str, object]:
    return {
        "resourceName": "people/c1",
        "etag": etag,
        "metadata": {"sources": [{"type": "CONTACT", "updateTime": updated}]},
    }


def test_our_own_newer_write_beats_a_lagging_listing() -> None:
    """A listing older than the answer to our own write loses; a newer one wins."""
    listed = person("old", "2026-01-01T00:00:01.000000Z")
    ours = person("ours", "2026-01-01T00:00:02.000000Z")
    assert fresher(listed, ours)["etag"] == "ours"
    newer = person("newer", "2026-01-01T00:00:03.000000Z")
    assert fresher(newer, ours)["etag"] == "newer"
    assert fresher(listed, None)["etag"] == "old"


def test_summary_and_leftovers_are_listed_without_personal_data() -> None:
    """The summary counts outcomes; what is left is listed with its reason and next attempt."""
    result = ApplyResult()
    result.record(ObjectResult("contact", "a", Outcome.CREATED, resource_name="people/c1"))
    result.record(ObjectResult("contact", "b", Outcome.UNCHANGED))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    result.record(ObjectResult("contact", "c", Outcome.CONFLICT, reason="etag", retry_at=when))
    text = render_result(result, verbose=True)
    assert "created contact a people/c1" in text
    assert "conflict contact c: etag (next attempt after 2026-01-01T00:00:00+00:00)" in text
    assert text.endswith("Apply: 1 created, 0 updated, 0 deleted, 1 unchanged, 1 left.")
    assert not result.converged
    assert result.to_json()["results"][2]["retry_at"].startswith("2026-01-01")


def test_a_later_outcome_supersedes_an_earlier_one() -> None:
    """A pending create confirmed by the next listing ends as created, and the run converges."""
    result = ApplyResult()
    result.record(ObjectResult("contact", "a", Outcome.PENDING))
    result.record(ObjectResult("contact", "a", Outcome.CREATED))
    assert result.converged
    assert result.counts()[Outcome.CREATED] == 1
