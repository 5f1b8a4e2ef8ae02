"""A read that lags our own write plans against our kept answer, decoded from the live index.

The emulator serves the previous version of a contact to reads by name for ``read_lag_ms``
after a write (its clock moves only when the test says, so the lag outlasts the test). A
scoped pass right after our update reads that previous version; the account's live index
still holds our write's answer (compressed) and the engine plans against it, so nothing is
written twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reconciler.apply.engine import ApplySettings
from reconciler.apply.journal import CreateJournal
from reconciler.apply.results import Outcome
from reconciler.clock import ManualClock
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.people import connect
from reconciler.people.client import PeopleClient
from reconciler.plan.options import PlanOptions
from tests.support.manifests import contact_yaml
from tests.support.pacing import UNPACED


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def client(emulator_clock: ManualClock) -> AsyncIterator[PeopleClient]:
    app = create_app(EmulatorConfig(read_lag_ms=600_000), clock=emulator_clock)
    async with connect("embedded", app=app, token="user:a@example.com", config=UNPACED) as people:
        yield people


def store_of(folder: Path, given: str) -> DesiredStore:
    folder.mkdir(exist_ok=True)
    (folder / "c.yaml").write_text(contact_yaml("ann", given))
    store = DesiredStore([folder])
    assert store.reload().ok
    return store


async def test_a_lagging_read_after_our_update_writes_nothing_again(
    client: PeopleClient, emulator_clock: ManualClock, tmp_path: Path
) -> None:
    """Created, renamed by a full pass, then a scoped pass reads the pre-rename version: it
    finds the contact unchanged (our kept answer is fresher) and sends no second update."""
    with CreateJournal(tmp_path / "journal.jsonl") as journal:
        backend = ApplyBackend(client, journal, ApplySettings(plan=PlanOptions(owner="o")))
        first = store_of(tmp_path / "m", "Ann")
        assert first.state is not None
        assert (await backend.apply(first.state)).converged
        emulator_clock.advance(1)  # the update is a second younger than the create
        renamed = store_of(tmp_path / "m", "Anna")
        assert renamed.state is not None
        updated = await backend.apply(renamed.state)
        assert updated.get("contact", "ann").outcome is Outcome.UPDATED  # type: ignore[union-attr]
        resource_name = next(iter(backend.written))
        lagging = await client.batch_get([resource_name], ["names"])
        person = lagging[resource_name].person
        assert person is not None
        assert person["names"][0]["givenName"] == "Ann"  # the read lags our update

        again = await backend.apply(renamed.state, scope={"ann": resource_name})

    assert again.get("contact", "ann").outcome is Outcome.UNCHANGED  # type: ignore[union-attr]
    assert client.stats.by_method_status[("people.batchUpdateContacts", "200")] == 1
    assert client.stats.by_method_status[("people.batchUpdateContacts", "400")] == 0
