"""A 429 the client meets is logged with the quota that refused it, never with contact data."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from structlog.testing import capture_logs

from reconciler.people.multipart_calls import update_contact_call
from reconciler.people.pacing import PacingConfig
from reconciler.people.transport import ClientConfig
from tests.support.clients import ClientFactory, fast_config
from tests.support.persons import new_person

FIELDS = "names,metadata"


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


async def test_a_retried_429_names_the_quota_metric_and_limit_it_was_told(
    make_client: ClientFactory, app: Starlette
) -> None:
    """A batch create refused by the user's 6-unit write quota is logged (the error and its
    retry) with the account, the metric, the limit id, its value and the Retry-After the
    emulator sent, and then succeeds; no contact's name appears in any log line."""
    client = make_client(config=fast_config())
    app.state.emulator.configure({"write_quota_per_minute": 6})
    await client.batch_create([new_person(0)], FIELDS)
    with capture_logs() as logs:
        created = await client.batch_create([new_person(1)], FIELDS)
    assert created[0].ok
    told = {
        "quota_metric": "people.googleapis.com/critical_write_requests",
        "quota_limit": "CriticalWritesPerMinutePerProjectPerUser",
        "quota_limit_value": "6",
    }
    [error] = events(logs, "people.error")
    [retry] = events(logs, "people.retry")
    for line in (error, retry):
        assert line["account"] == "tester@example.com"
        assert line["method"] == "people.batchCreateContacts"
        assert line["status"] == 429
        assert {key: line[key] for key in told} == told
        assert line["retry_after"] >= 1
    assert retry["wait"] >= retry["retry_after"]
    assert "Person" not in repr(logs)  # new_person's given names


async def test_a_retried_429_part_of_a_multipart_batch_names_its_quota(
    make_client: ClientFactory, app: Starlette
) -> None:
    """Update parts of a multipart /batch refused by the write quota are retried under a log
    line that names the batch, how many parts go again and the quota that refused them."""
    client = make_client()
    created = await client.batch_create([new_person(i) for i in range(4)], FIELDS)
    people = [dict(r.person or {}, names=[{"givenName": "Renamed"}]) for r in created]
    app.state.emulator.configure({"write_quota_per_minute": 2})
    fast = make_client(config=ClientConfig(pacing=PacingConfig.uniform(10_000)))
    with capture_logs() as logs:
        results = await fast.batch([update_contact_call(p, "names", FIELDS) for p in people])
    assert all(result.ok for result in results)
    retries = events(logs, "people.retry")
    assert retries
    assert retries[0]["account"] == "tester@example.com"
    assert retries[0]["method"] == "batch"
    assert retries[0]["parts"] == 2
    assert retries[0]["quota_limit"] == "CriticalWritesPerMinutePerProjectPerUser"
    assert retries[0]["quota_metric"] == "people.googleapis.com/critical_write_requests"
    assert retries[0]["quota_limit_value"] == "2"
    assert "Renamed" not in repr(logs)
