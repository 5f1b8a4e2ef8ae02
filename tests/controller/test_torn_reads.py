"""A pruning controller while git-sync flips the manifests link between two revisions.

The two revisions hold the same contacts; one file moved between folders. A load that mixed
them would miss the moved contact (and a pruning pass would delete it, the next one create it
again, without what a person had added to it) or see it twice. The controller runs in process
against the emulator over HTTP; reads are hooked so that the link flips between two of them,
200 times, while resyncs and the watcher keep reloading.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.controller.account import Intervals
from reconciler.controller.accounts import DriftPolicy, single_account
from reconciler.controller.runner import RunSettings, run_controller
from reconciler.statedir import StateDir
from tests.support.eventually import LIMIT, eventually_async
from tests.support.pacing import ROOMY_PACING
from tests.support.revisions import NAMES, flipping_reads, published

USER = "alice@example.com"
FLIPS = 200
FILES = len(NAMES) + 1
PERIOD = 5 * FILES  # reads: four tries of a load see a flip after their first read, one none
LAST_READ = PERIOD * FLIPS // 4


def flips_after(n: int) -> bool:
    """Flip after the first read of four tries out of five, 200 times in all: a load that
    follows the link instead of its pinned directory tears at every one of them."""
    at = (n - 1) % PERIOD
    return at % FILES == 0 and at < PERIOD - FILES and n <= LAST_READ


# Contact writes only: the write lease lives in a contact group of its own.
CREATE_OR_DELETE = re.compile(
    r"\.(batchCreateContacts|batchDeleteContacts|createContact|deleteContact)$"
)


async def stamped(http: httpx.AsyncClient) -> dict[str, str]:
    """Manifest name -> resource name of every contact the controller manages."""
    book = (await http.get("/__emulator/dump")).json()["users"].get(USER, {})
    found = {}
    for person in book.get("people", []):
        stamp = {e["key"]: e["value"] for e in person.get("clientData", [])}
        if "reconciler.name" in stamp:
            found[stamp["reconciler.name"]] = person["resourceName"]
    return found


async def creates_and_deletes(http: httpx.AsyncClient) -> dict[str, int]:
    by_method = (await http.get("/__emulator/stats")).json()["by_method"]
    return {m: n for m, n in by_method.items() if CREATE_OR_DELETE.search(m)}


async def test_a_pruning_controller_neither_deletes_nor_creates_while_the_link_flips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator_server: Any
) -> None:
    """200 flips between two revisions that differ by a moved file: zero deletes, zero creates,
    and every contact keeps its resource name."""
    tree = published(tmp_path / "sync")
    config = single_account([tree.link], owner="reconciler", drift_policy=DriftPolicy.CORRECT)
    settings = RunSettings(
        target=emulator_server.url,
        token=f"user:{USER}",
        state_dir=StateDir.at(tmp_path / "state"),
        intervals=Intervals(poll=3600, resync=0.02, debounce=0.01),
        health_addr="0",
        metrics_addr="0",
        prune=True,
        pacing=ROOMY_PACING,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_controller(config, settings, stop=stop))
    async with httpx.AsyncClient(base_url=emulator_server.url) as http:

        async def converged() -> dict[str, str] | None:
            found = await stamped(http)
            return found if len(found) == FILES else None

        before = await eventually_async(converged, "the first pass to create every contact")
        writes_before = await creates_and_deletes(http)
        with flipping_reads(monkeypatch, tree, flips_after) as counts:

            async def flipped_and_reread() -> bool:
                return counts[1] == FLIPS and counts[0] >= LAST_READ + 3 * FILES

            await eventually_async(
                flipped_and_reread, f"{FLIPS} flips and a few loads after", limit=5 * LIMIT
            )
        stop.set()
        assert await asyncio.wait_for(task, LIMIT) == 0
        assert await creates_and_deletes(http) == writes_before, "no create, no delete"
        assert await stamped(http) == before, "every contact kept its resource name"
