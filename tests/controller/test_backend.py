"""Passes through the real apply engine and the in-process emulator: a suspended contact is
never pruned, a plan writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import reconciler.plan.build
from reconciler.apply.engine import ApplySettings
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.results import Outcome
from reconciler.clock import ManualClock
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore
from reconciler.controller.gateway import PassGateway
from reconciler.emulator import create_app
from reconciler.people import connect
from reconciler.people.client import PeopleClient
from reconciler.plan.options import PlanOptions
from tests.support.eventually import eventually_async
from tests.support.loopfree import LoopWitness
from tests.support.manifests import contact_yaml
from tests.support.pacing import UNPACED


@pytest.fixture
async def client() -> AsyncIterator[PeopleClient]:
    async with connect(
        "embedded", app=create_app(), token="user:a@example.com", config=UNPACED
    ) as people:
        yield people


@pytest.fixture
def backend(client: PeopleClient, tmp_path: Path) -> Any:
    with CreateJournal(tmp_path / "journal.jsonl") as journal:
        settings = ApplySettings(plan=PlanOptions(owner="o", prune=True))
        yield ApplyBackend(client, journal, settings)


def manifests(tmp_path: Path, *docs: str) -> DesiredStore:
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "c.yaml").write_text("---\n".join(docs))
    store = DesiredStore([folder])
    assert store.reload().ok
    return store


async def given_names(client: PeopleClient) -> list[str]:
    listing = await client.list_people(["names"])
    return sorted(p["names"][0]["givenName"] for p in listing.people)


async def test_a_suspended_contact_is_neither_updated_nor_pruned(
    backend: ApplyBackend, client: PeopleClient, tmp_path: Path
) -> None:
    """With pruning on, a contact suspended by annotation keeps its live copy untouched."""
    store = manifests(tmp_path, contact_yaml("a", "Ann"), contact_yaml("b", "Bob"))
    assert store.state is not None
    result = await backend.apply(store.state, store.suspended)
    assert result.converged
    store = manifests(
        tmp_path,
        contact_yaml("a", "Anna"),
        contact_yaml("b", "Robert", annotations={"reconciler/suspend": "true"}),
    )
    assert store.suspended == {"b"}
    assert store.state is not None
    result = await backend.apply(store.state, store.suspended)
    assert result.converged
    suspended = result.get("contact", "b")
    assert suspended is None or suspended.outcome is Outcome.UNCHANGED  # kept, not written
    assert await given_names(client) == ["Anna", "Bob"]


async def test_planning_only_writes_nothing(
    backend: ApplyBackend, client: PeopleClient, tmp_path: Path
) -> None:
    """plan() reports the pending change and the address book stays as it was."""
    store = manifests(tmp_path, contact_yaml("a", "Ann"))
    assert store.state is not None
    result = await backend.apply(store.state)
    assert result.counts()[Outcome.CREATED] == 1
    store = manifests(tmp_path, contact_yaml("a", "Anna"))
    assert store.state is not None
    plan = await backend.plan(store.state)
    assert [(i.key, str(i.action)) for i in plan.changes] == [("a", "update")]
    assert await given_names(client) == ["Ann"]


async def edit_given_name(client: PeopleClient, resource_name: str, given: str) -> None:
    """Change a contact the way another app would (through the API, with its etag)."""
    (answer,) = (await client.batch_get([resource_name], ["names"])).values()
    assert answer.person is not None
    body = {"etag": answer.person["etag"], "names": [{"givenName": given}]}
    results = await client.batch_update({resource_name: body}, ["names"], ["names"])
    assert all(r.error is None for r in results.values())


def lists(client: PeopleClient) -> int:
    return int(client.stats.requests["people.connections.list"])


async def test_a_scoped_pass_reads_only_its_contacts_by_name(
    backend: ApplyBackend, client: PeopleClient, tmp_path: Path
) -> None:
    """A pass over known keys converges them without listing the address book."""
    store = manifests(tmp_path, contact_yaml("a", "Ann"), contact_yaml("b", "Bob"))
    assert store.state is not None
    created = await backend.apply(store.state)
    await backend.apply(store.state)  # the listing shows the creates: the journal is settled
    a = created.get("contact", "a")
    assert a is not None
    assert a.resource_name is not None
    await edit_given_name(client, a.resource_name, "Mallory")
    before = lists(client)
    result = await backend.apply(store.state, scope={"a": a.resource_name})
    assert lists(client) == before
    assert result.counts()[Outcome.UPDATED] == 1
    assert result.get("contact", "b") is None  # not part of this pass
    assert await given_names(client) == ["Ann", "Bob"]


async def test_a_scoped_pass_falls_back_to_a_full_one_when_a_contact_is_gone(
    backend: ApplyBackend, client: PeopleClient, tmp_path: Path
) -> None:
    """Only a full listing may conclude that a contact must be created again."""
    store = manifests(tmp_path, contact_yaml("a", "Ann"))
    assert store.state is not None
    created = await backend.apply(store.state)
    await backend.apply(store.state)
    a = created.get("contact", "a")
    assert a is not None
    assert a.resource_name is not None
    await client.batch_delete([a.resource_name])
    before = lists(client)
    result = await backend.apply(store.state, scope={"a": a.resource_name})
    assert lists(client) > before
    assert result.counts()[Outcome.CREATED] == 1
    assert await given_names(client) == ["Ann"]


async def test_a_contact_listed_twice_is_one_contact(client: PeopleClient) -> None:
    """A listing that returns a contact on two pages (it moved while being paged) does not
    look like two contacts sharing one stamp."""
    await client.batch_create(
        [
            {
                "names": [{"givenName": "Ann"}],
                "clientData": [
                    {"key": "reconciler.owner", "value": "o"},
                    {"key": "reconciler.name", "value": "a"},
                ],
            }
        ]
    )

    class Doubling(ClientGateway):
        async def list_people(self) -> tuple[list[dict[str, Any]], bool]:
            people, complete = await super().list_people()
            return [*people, *people], complete

    class PagedTwice(PassGateway, Doubling):
        """PassGateway over a listing that shows every contact twice."""

    people, _ = await PagedTwice(client, "o").list_people()
    assert len(people) == 1


async def test_passes_plan_off_the_event_loop(
    backend: ApplyBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planning a large account takes tens of milliseconds of CPU: a converge pass and a
    plan-only pass both plan while the event loop stays free for every other account."""
    witness = LoopWitness(asyncio.get_running_loop())
    plan_groups = reconciler.plan.build.plan_groups

    def witnessed(*args: Any, **kwargs: Any) -> Any:  # called once by every plan
        witness.confirm()
        return plan_groups(*args, **kwargs)

    monkeypatch.setattr(reconciler.plan.build, "plan_groups", witnessed)
    store = manifests(tmp_path, contact_yaml("a", "Ann"))
    assert store.state is not None
    assert (await backend.apply(store.state)).converged
    await backend.plan(store.state)
    assert not witness.stalled, "a pass planned on the event loop"
    assert witness.free >= 2


async def test_the_answers_a_pass_kept_are_dropped_after_the_hold_without_a_poll(
    backend: ApplyBackend, client: PeopleClient, tmp_path: Path
) -> None:
    """Our writes' whole answers are kept ``hold`` seconds after the pass that wrote them and
    then dropped (only their etags stay) by a timer: polls may be minutes apart or deferred,
    so the footprint at rest cannot wait for one; a full listing also gave the index its
    sync token."""
    backend.written.hold = 0.0
    store = manifests(tmp_path, contact_yaml("a", "Ann"))
    assert store.state is not None
    assert (await backend.apply(store.state)).converged
    assert len(backend.written) == 1
    assert backend.written.sync_token is not None
    await eventually_async(lambda: len(backend.written) == 0, "the kept answer dropped")
    assert len(backend.written.etags) == 1


async def test_the_answers_a_pass_kept_age_on_the_accounts_clock(
    client: PeopleClient, tmp_path: Path
) -> None:
    """The live index dates the answers it keeps on the backend's clock (the account's one
    timeline, like its retry times): they stay whole until that clock passes ``hold``."""
    clock = ManualClock()
    with CreateJournal(tmp_path / "journal.jsonl", clock=clock) as journal:
        settings = ApplySettings(plan=PlanOptions(owner="o"))
        backend = ApplyBackend(client, journal, settings, clock=clock)
        store = manifests(tmp_path, contact_yaml("a", "Ann"))
        assert store.state is not None
        assert (await backend.apply(store.state)).converged
        clock.advance(backend.written.hold - 1)
        backend.written.compact()
        assert len(backend.written) == 1
        clock.advance(1)
        backend.written.compact()
        assert len(backend.written) == 0
        assert len(backend.written.etags) == 1
        await backend.close(0)
