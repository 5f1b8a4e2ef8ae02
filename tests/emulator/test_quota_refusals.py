"""A 429 says which quota refused the call, the way Google's API front end says it, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.emulator.server import BackgroundServer


def batch_of(count: int) -> dict[str, Any]:
    return {
        "contacts": [{"contactPerson": {"names": [{"givenName": f"P{i}"}]}} for i in range(count)],
        "readMask": "names",
    }


def as_user(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer user:{user}"}


def test_a_project_quota_refusal_names_its_metric_limit_and_value(
    emulator_server: BackgroundServer,
) -> None:
    """The second user's batch create over a 6-unit project write quota is answered 429
    RESOURCE_EXHAUSTED with Retry-After and an ErrorInfo RATE_LIMIT_EXCEEDED naming the
    project's critical-write limit, its value and unit; the stats count it by that limit."""
    with httpx.Client(base_url=emulator_server.url) as http:
        assert http.patch(
            "/__emulator/config", json={"project_write_quota_per_minute": 6}
        ).is_success
        first = http.post(
            "/v1/people:batchCreateContacts", json=batch_of(2), headers=as_user("a@example.com")
        )
        assert first.is_success
        refused = http.post(
            "/v1/people:batchCreateContacts", json=batch_of(2), headers=as_user("b@example.com")
        )
        stats = http.get("/__emulator/stats").json()
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"] == (
        "Quota exceeded for quota metric 'Critical write requests (Contact Creates and "
        "Updates)' and limit 'Critical write requests (Contact Creates and Updates) per "
        "minute' of service 'people.googleapis.com' for consumer 'project_number:123456789012'."
    )
    assert error["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "RATE_LIMIT_EXCEEDED",
            "domain": "googleapis.com",
            "metadata": {
                "consumer": "projects/123456789012",
                "quota_limit": "CriticalWritesPerMinutePerProject",
                "quota_limit_value": "6",
                "quota_location": "global",
                "quota_metric": "people.googleapis.com/critical_write_requests",
                "quota_unit": "1/min/{project}",
                "service": "people.googleapis.com",
            },
        }
    ]
    assert stats["refused_by_limit"] == {"CriticalWritesPerMinutePerProject": 1}
    assert stats["by_method_status"]["people.people.batchCreateContacts"] == {"200": 1, "429": 1}


def test_a_per_user_refusal_names_the_per_user_limit(emulator_server: BackgroundServer) -> None:
    """A user over its own read quota is told the per-user limit and unit; another user of the
    same project is not refused."""
    with httpx.Client(base_url=emulator_server.url) as http:
        http.patch("/__emulator/config", json={"read_quota_per_minute": 1}).raise_for_status()
        listing = "/v1/people/me/connections?personFields=names"
        assert http.get(listing, headers=as_user("a@example.com")).is_success
        refused = http.get(listing, headers=as_user("a@example.com"))
        assert http.get(listing, headers=as_user("b@example.com")).is_success
        stats = http.get("/__emulator/stats").json()
    assert refused.status_code == 429
    metadata = refused.json()["error"]["details"][0]["metadata"]
    assert metadata["quota_metric"] == "people.googleapis.com/critical_read_requests"
    assert metadata["quota_limit"] == "CriticalReadsPerMinutePerProjectPerUser"
    assert metadata["quota_limit_value"] == "1"
    assert metadata["quota_unit"] == "1/min/{project}/{user}"
    assert stats["refused_by_limit"] == {"CriticalReadsPerMinutePerProjectPerUser": 1}
