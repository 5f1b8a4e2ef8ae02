"""The emulator charges Google's quota units per call, from the one table in model.quotas."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.clock import ManualClock
from reconciler.emulator import Emulator


def batch_of(count: int) -> dict[str, Any]:
    return {
        "contacts": [{"contactPerson": {"names": [{"givenName": f"P{i}"}]}} for i in range(count)],
        "readMask": "names",
    }


def metric_of(response: httpx.Response) -> tuple[str, str]:
    metadata = response.json()["error"]["details"][0]["metadata"]
    return metadata["quota_metric"], metadata["quota_limit"]


async def test_a_batch_create_costs_six_critical_writes_whatever_its_size(
    api: httpx.AsyncClient, emulator: Emulator, clock: ManualClock
) -> None:
    """Six units of a 12-a-minute write quota per batch: two batches fit, a third is refused,
    as is a batch against a quota smaller than one batch; the minute passing frees it."""
    emulator.configure({"write_quota_per_minute": 12})
    for size in (1, 200):
        assert (await api.post("/v1/people:batchCreateContacts", json=batch_of(size))).is_success
    refused = await api.post("/v1/people:batchCreateContacts", json=batch_of(1))
    assert refused.status_code == 429
    assert metric_of(refused) == (
        "people.googleapis.com/critical_write_requests",
        "CriticalWritesPerMinutePerProjectPerUser",
    )
    clock.advance(60)
    emulator.configure({"write_quota_per_minute": 5})
    assert (await api.post("/v1/people:batchCreateContacts", json=batch_of(1))).status_code == 429


async def test_a_batch_create_costs_six_critical_reads_too(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """Creates and updates draw on the read quota as well: 6 units a batch."""
    emulator.configure({"read_quota_per_minute": 7})
    assert (await api.post("/v1/people:batchCreateContacts", json=batch_of(3))).is_success
    assert (await api.get("/v1/people/me/connections?personFields=names")).is_success
    refused = await api.get("/v1/people/me/connections?personFields=names")
    assert refused.status_code == 429
    assert metric_of(refused)[0] == "people.googleapis.com/critical_read_requests"


async def test_deletes_and_group_writes_share_their_own_quota(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """A delete, a batch delete (10 units) and a group create draw on "Contact Deletes and
    Contact Group Writes", not on critical writes."""
    created = await api.post("/v1/people:batchCreateContacts", json=batch_of(3))
    names = [p["person"]["resourceName"] for p in created.json()["createdPeople"]]
    emulator.configure({"write_quota_per_minute": 1, "group_write_quota_per_minute": 12})
    assert (await api.post("/v1/people:batchCreateContacts", json=batch_of(1))).status_code == 429
    group = await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Team"}})
    assert group.is_success  # a group write: the exhausted critical write quota is not asked
    assert (await api.delete(f"/v1/{names[0]}:deleteContact")).is_success
    batch = await api.post("/v1/people:batchDeleteContacts", json={"resourceNames": names[1:]})
    assert batch.is_success  # 1 + 1 + 10 = 12 units
    refused = await api.post("/v1/contactGroups", json={"contactGroup": {"name": "Other"}})
    assert refused.status_code == 429
    assert metric_of(refused) == (
        "people.googleapis.com/write_requests",
        "WriteRequestsPerMinutePerProjectPerUser",
    )


async def test_group_reads_have_their_own_quota(api: httpx.AsyncClient, emulator: Emulator) -> None:
    """Listing groups draws on "Contact Group Reads", not on critical reads."""
    emulator.configure({"read_quota_per_minute": 1, "project_group_read_quota_per_minute": 2})
    assert (await api.get("/v1/contactGroups")).is_success
    assert (await api.get("/v1/contactGroups")).is_success
    refused = await api.get("/v1/contactGroups")
    assert refused.status_code == 429
    assert metric_of(refused) == (
        "people.googleapis.com/read_requests",
        "ReadRequestsPerMinutePerProject",
    )
    assert (await api.get("/v1/people/me/connections?personFields=names")).is_success
