"""A change made before the replica's watch hears an account is applied as an edit.

An account is heard only once a watch covering its paths is attached, and at start-up that
can be long after the account registered (a thousand accounts' paths are planned first) or
after its first pass read its manifests. A change in between reaches no watch: it used to
wait for the account's resync, or, before the first pass, for that pass's ordinary turn. The
edits here land exactly in that window: after the read, before the watch is attached.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.controller.account import AccountWorker, Intervals
from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.desired import DesiredStore
from reconciler.controller.health import Health
from reconciler.controller.metrics import Metrics
from reconciler.controller.slots import PassSlots
from reconciler.controller.watching import Changes, ReplicaWatcher, watchfiles_stream
from tests.support.backends import Backend
from tests.support.eventually import eventually_async
from tests.support.manifests import contact_yaml


def given_names(backend: Backend) -> list[str]:
    """The given name of contact ``ada`` in each pass the backend was asked for."""
    return [
        str(contact.spec.person_fields()["names"][0]["givenName"])
        for desired, _ in backend.applied
        for contact in desired.contacts
    ]


def write(folder: Path, given: str) -> None:
    """The account's one manifest, replaced whole as git-sync and editors do."""
    scratch = folder / ".ada.yaml.new"
    scratch.write_text(contact_yaml("ada", given), encoding="utf-8")
    scratch.replace(folder / "ada.yaml")


class World:
    def __init__(self, root: Path, watcher: ReplicaWatcher, slots: PassSlots) -> None:
        self.folder = root / "alice"
        self.folder.mkdir(parents=True)
        write(self.folder, "Ada")
        self.backend = Backend()
        self.watcher = watcher
        account = Account(
            "alice@example.com",
            (self.folder,),
            "o",
            suspend=False,
            drift_policy=DriftPolicy.CORRECT,
        )
        self.worker = AccountWorker(
            account,
            self.backend,
            poller=None,
            store=DesiredStore(account.manifests),
            metrics=Metrics(),
            health=Health(),
            intervals=Intervals(poll=5, resync=3600, debounce=0.05),
            watcher=watcher,
            slots=slots,
        )


@pytest.fixture
async def tasks() -> AsyncIterator[Callable[[Any], None]]:
    running: list[asyncio.Task[Any]] = []

    def start(work: Any) -> None:
        running.append(asyncio.create_task(work))

    yield start
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


async def test_a_change_after_the_first_read_and_before_the_watch_attached_is_applied(
    tmp_path: Path, tasks: Callable[[Any], None]
) -> None:
    """The account's first pass reads its manifests; then, before the replica's watch is
    attached (it has not even planned its paths yet), the contact is renamed. Once the watch
    starts, the account reloads and a pass applies the new name; no event ever told of it."""
    world = World(tmp_path, ReplicaWatcher(debounce=0.05), PassSlots(1))
    tasks(world.worker.run())
    await eventually_async(lambda: given_names(world.backend) == ["Ada"], "the first pass")
    write(world.folder, "Edited")
    tasks(world.watcher.run())
    await eventually_async(
        lambda: given_names(world.backend)[-1:] == ["Edited"], "the edit applied"
    )
    assert given_names(world.backend) == ["Ada", "Edited"]


async def test_an_edit_before_the_watch_attached_promotes_the_waiting_first_pass(
    tmp_path: Path, tasks: Callable[[Any], None]
) -> None:
    """The one pass slot is busy and another account's pass waits for it before this
    account's first pass. The watch has planned this account's paths; the edit lands right
    before it attaches. The first pass is promoted as for any edit: when the slot frees it
    runs before the other account's, with the edit."""
    edited = False

    def streams(
        roots: tuple[Path, ...], recursive: bool, stop: asyncio.Event, polling: bool
    ) -> AsyncIterator[Changes]:
        nonlocal edited
        if not edited:  # the watch attaches now: the edit lands just before it listens
            edited = True
            write(world.folder, "Edited")
        return watchfiles_stream(roots, recursive, stop, polling)

    slots = PassSlots(1)
    world = World(tmp_path, ReplicaWatcher(debounce=0.05, streams=streams), slots)
    before_other: list[int] = []  # passes of the edited account when the other one ran
    busy = asyncio.Event()
    free = asyncio.Event()

    async def holder() -> None:
        async with slots.hold():
            busy.set()
            await free.wait()

    async def other() -> None:
        async with slots.hold():
            before_other.append(len(world.backend.applied))

    tasks(holder())
    await busy.wait()
    tasks(other())
    await eventually_async(lambda: slots.waiting == 1, "the other account's pass to wait")
    tasks(world.worker.run())
    await eventually_async(lambda: slots.waiting == 2, "the first pass to wait behind it")
    tasks(world.watcher.run())
    await eventually_async(lambda: edited and world.watcher.settled, "the watch to attach")
    registry = world.worker.metrics.registry
    labels = {"account": world.worker.label, "result": "ok"}
    await eventually_async(
        lambda: registry.get_sample_value("reconciler_manifest_loads_total", labels),
        "the edited account to reload",
    )
    free.set()
    await eventually_async(lambda: before_other, "the other account's pass")
    assert before_other[0] >= 1  # the edited account's pass ran first
    assert given_names(world.backend)[0] == "Edited"


async def test_an_edit_while_the_replica_opens_its_accounts_reaches_the_account_when_it_starts(
    tmp_path: Path, tasks: Callable[[Any], None]
) -> None:
    """The replica watches an account's paths from the moment it knows the account, before
    opening it (which takes minutes for thousands): an edit made before the watch attached,
    while the account is still being opened, is handed to the account when it starts."""
    folder = tmp_path / "alice"
    folder.mkdir()
    write(folder, "Ada")
    edited = False

    def streams(
        roots: tuple[Path, ...], recursive: bool, stop: asyncio.Event, polling: bool
    ) -> AsyncIterator[Changes]:
        nonlocal edited
        if not edited:
            edited = True
            write(folder, "Edited")
        return watchfiles_stream(roots, recursive, stop, polling)

    watcher = ReplicaWatcher(debounce=0.05, streams=streams)
    watcher.expect("alice", [folder])
    tasks(watcher.run())
    await eventually_async(lambda: edited and watcher.settled, "the watch to attach")
    heard: list[str] = []
    watcher.register("alice", [folder], lambda: heard.append("alice"))
    await eventually_async(lambda: heard == ["alice"], "the account to hear the edit")
    await eventually_async(lambda: watcher.settled, "the watch to settle")
    assert heard == ["alice"]
