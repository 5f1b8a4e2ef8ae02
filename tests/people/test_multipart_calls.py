"""The multipart /batch path: partial failures, per-part retries, over HTTP and in process."""

from __future__ import annotations

from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.emulator import BackgroundServer
from reconciler.people import connect
from reconciler.people.client import PeopleClient
from reconciler.people.errors import NotFound, StaleEtag
from reconciler.people.multipart import InnerRequest
from reconciler.people.multipart_calls import delete_group_call, update_contact_call
from reconciler.people.pacing import PacingConfig
from reconciler.people.transport import ClientConfig
from tests.support.clients import ClientFactory
from tests.support.persons import new_person

FIELDS = "names,metadata"


async def mixed_batch(client: PeopleClient) -> tuple[list[InnerRequest], list[str]]:
    """Three good updates, one stale etag, one unknown contact, one group delete, one get."""
    created = await client.batch_create([new_person(i) for i in range(4)], FIELDS)
    people = [dict(r.person or {}) for r in created]
    group = await client.create_group("Temp")
    stale = {k: v for k, v in people[3].items() if k != "metadata"}
    stale["etag"] = "%EgYBAgMuNz0aBAECBQc="
    calls = [
        *(update_contact_call(dict(p, names=[{"givenName": "Batched"}]), "names", FIELDS)
          for p in people[:3]),
        update_contact_call(dict(stale, names=[{"givenName": "X"}]), "names"),
        update_contact_call({"resourceName": "people/c31337", "etag": "e"}, "names"),
        delete_group_call(group["resourceName"]),
        InnerRequest("GET", f"/v1/{people[0]['resourceName']}", params=[("personFields", "names")]),
    ]  # fmt: skip
    return calls, [str(p["resourceName"]) for p in people]


def check_mixed(results: list, calls: list[InnerRequest]) -> None:  # type: ignore[type-arg]
    assert [r.content_id for r in results] == [c.content_id for c in calls]
    assert [r.ok for r in results] == [True, True, True, False, False, True, True]
    assert all(r.body["names"][0]["givenName"] == "Batched" for r in results[:3])
    assert all(r.body["etag"] for r in results[:3])
    assert isinstance(results[3].error, StaleEtag)
    assert isinstance(results[4].error, NotFound)
    assert results[5].body == {}


async def test_multipart_batch_with_partial_failures_over_http(
    emulator_server: BackgroundServer,
) -> None:
    """Over a real socket: each part gets its own outcome, matched by Content-ID."""
    roomy = ClientConfig(pacing=PacingConfig.uniform(10_000))
    async with connect(emulator_server.url, token="user:batch@example.com", config=roomy) as client:
        calls, names = await mixed_batch(client)
        results = await client.batch(calls)
        check_mixed(results, calls)
        assert client.stats.requests["batch"] == 1
        assert client.stats.inner == {"200": 5, "400": 1, "404": 1}
        fresh = await client.batch_get(names, "names")
        assert fresh[names[0]].person["names"][0]["givenName"] == "Batched"  # type: ignore[index]


async def test_multipart_parts_hitting_the_quota_are_retried_alone(
    make_client: ClientFactory, app: Starlette, clock: ManualClock
) -> None:
    """Inner calls count against the quota one by one; 429 parts wait and go again; the parts
    that failed for good are not resent."""
    client = make_client(config=ClientConfig())
    calls, _ = await mixed_batch(client)
    app.state.emulator.configure({"write_quota_per_minute": 3})
    fast = make_client(config=ClientConfig(pacing=PacingConfig.uniform(10_000)))
    start = clock.now()
    results = await fast.batch(calls)
    check_mixed(results, calls)
    assert fast.stats.inner["429"] > 0
    assert fast.stats.inner["400"] == 1
    assert fast.stats.inner["404"] == 1
    assert clock.now() - start >= 60


async def test_paced_multipart_batches_are_split_to_fit_the_bucket(
    make_client: ClientFactory, app: Starlette
) -> None:
    """With pacing matched to the quota, a batch is sent in bucket-sized round trips and no
    part is ever refused: a 6-a-minute write bucket holds three updates, so the five updates
    go three and two, and the group delete and the read (other quotas) ride with the last."""
    client = make_client()
    calls, _ = await mixed_batch(client)
    app.state.emulator.configure({"write_quota_per_minute": 6})
    paced = make_client(config=ClientConfig(pacing=PacingConfig(writes_per_minute=6)))
    results = await paced.batch(calls)
    check_mixed(results, calls)
    assert paced.stats.inner["429"] == 0
    assert paced.stats.requests["batch"] == 2


async def test_a_create_part_answered_5xx_is_not_resent(
    make_client: ClientFactory, app: Starlette
) -> None:
    """Inside a /batch too, a create answered with a 5xx may have been made: that part comes
    back failed after one try, while a read part answered 5xx is tried again."""
    client = make_client(config=ClientConfig())
    app.state.emulator.configure({"error_rate": 1.0})
    create = InnerRequest("POST", "/v1/people:createContact", body=new_person(1))
    read = InnerRequest("GET", "/v1/people/c1", params=[("personFields", "names")])
    results = await client.batch([create, read])
    assert [r.ok for r in results] == [False, False]
    assert client.stats.inner["500"] + client.stats.inner["503"] == 1 + 4
