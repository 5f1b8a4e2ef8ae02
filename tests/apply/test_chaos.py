"""Chaos: every fault the People API is known for, at once, during one apply.

20% of the contacts are edited out of band while the apply runs (half in fields the manifests
manage, half in fields they do not), reads lag writes, listings lag creates, current etags are
spuriously rejected, a write quota answers 429s and 5% of requests fail with a 5xx. Afterwards
every managed field equals the manifest, every out-of-band edit to an unmanaged field is still
there, nothing is duplicated, and no contact we do not own was touched.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from reconciler.apply.results import Outcome
from reconciler.model import LiveState, read_stamp
from reconciler.plan.build import build_plan
from reconciler.plan.options import PlanOptions
from tests.support.manifests import book
from tests.support.world import USER, EditingGateway, World, by_name

N = 50


async def live_state(world: World) -> LiveState:
    dump = await world.admin("GET", "dump")
    user = dump["users"][USER]
    return LiveState(people=user["people"], groups=user["contactGroups"])


@pytest.mark.parametrize("seed", range(1, 9))
async def test_chaos_converges_without_duplicates_or_collateral(world: World, seed: int) -> None:
    """See the module docstring."""
    # Someone else's contacts, which we must never touch.
    foreign = await world.client.batch_create(
        [
            {"names": [{"givenName": f"Stranger{i}"}], "biographies": [{"value": "mine"}]}
            for i in range(5)
        ],
        "metadata,names,biographies",
    )
    foreign_etags = {r.resource_name: r.etag for r in foreign}
    await world.apply(book(N, groups=3))
    before = by_name(await world.people())

    # Next revision of the manifests: every title changes, 5 new contacts, 5 dropped (pruned).
    desired = book(N, groups=3, title="Director", start=5)
    edited = sorted(before)[5 : 5 + N // 5]  # 20% of the contacts, all still in the manifests
    unmanaged = edited[::2]
    managed = edited[1::2]

    async def edit() -> None:
        for key in unmanaged:
            person = {"biographies": [{"value": f"bio of {key}"}]}
            await world.edit(before[key]["resourceName"], person, "biographies")
        for key in managed:
            person = {"organizations": [{"name": "Elsewhere", "title": "Intern"}]}
            await world.edit(before[key]["resourceName"], person, "organizations")

    world.configure(
        seed=seed,
        read_lag_ms=1500,
        list_lag_ms=2000,
        spurious_etag_rate=0.2,
        write_quota_per_minute=12,  # two batch writes (6 units each) a minute
        group_write_quota_per_minute=20,  # two batch deletes (10 units each) a minute
        error_rate=0.05,
        editor_rate=0.05,  # plus random edits of phones and biographies (unmanaged here)
    )
    result = await world.apply(
        desired,
        gateway=EditingGateway(world.client, edit),
        rng=random.Random(seed),
        prune=True,
        max_deletes=10,
    )
    world.configure(
        read_lag_ms=0,
        list_lag_ms=0,
        spurious_etag_rate=0,
        error_rate=0,
        write_quota_per_minute=0,
        group_write_quota_per_minute=0,
    )

    assert result.converged, [r.to_json() for r in result.left]
    counts = result.counts()
    assert counts[Outcome.CREATED] == 5
    assert counts[Outcome.DELETED] == 5
    assert world.client.stats.throttled > 0  # the quota did bite

    people = await world.people()
    stamps = Counter(
        stamp.name for p in people if (stamp := read_stamp(p.get("clientData"))) is not None
    )
    assert set(stamps) == {c.name for c in desired.contacts}
    assert set(stamps.values()) == {1}, "duplicates"
    assert build_plan(desired, await live_state(world), PlanOptions(prune=True)).empty
    after = by_name(people)
    for key in unmanaged:  # ours, or a later random edit by the emulator's editor: never lost
        bio = after[key]["biographies"][0]["value"]
        assert bio == f"bio of {key}" or bio.startswith("Edited on a phone"), bio
    for key in managed:
        assert after[key]["organizations"][0] == {
            **after[key]["organizations"][0],
            "name": "Acme",
            "title": "Director",
        }
    strangers: dict[str, Any] = {
        p["resourceName"]: p for p in people if p["resourceName"] in foreign_etags
    }
    assert {rn: p["etag"] for rn, p in strangers.items()} == foreign_etags
