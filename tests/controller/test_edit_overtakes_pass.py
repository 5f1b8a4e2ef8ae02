"""An edit made while its account's own first pass is still creating goes before the rest.

A first pass of thousands of contacts is paced by that one user's write quota (a batch create
every few seconds); an edit it had not read used to wait for all of its batches, then for a
pass of its own. Now the pass stops between two batches (what it sent is answered and
journaled), and the pass that follows at once, with the edit, writes the edited contact's
batch before the rest.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import structlog

from reconciler.controller.account import Intervals
from reconciler.controller.accounts import DriftPolicy, single_account
from reconciler.model import read_stamp
from tests.support.controller import run_settings
from tests.support.eventually import LIMIT, eventually_async

USER = "alice@example.com"
CONTACTS = 600  # three batch creates of 200


class FirstCreateHeld:
    """The emulator, recording the body of every ``batchCreateContacts`` in the order they
    arrive, and holding the first until :attr:`opened` is set."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.creates: list[list[dict[str, Any]]] = []  # the contacts of each batch create
        self.opened = threading.Event()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(":batchCreateContacts"):
            await self.app(scope, receive, send)
            return
        messages = [await receive()]
        while messages[-1].get("more_body"):
            messages.append(await receive())
        body = json.loads(b"".join(m.get("body", b"") for m in messages))
        self.creates.append([c["contactPerson"] for c in body["contacts"]])
        if len(self.creates) == 1:
            await asyncio.to_thread(self.opened.wait)
        replayed = iter(messages)

        async def replay() -> Any:
            return next(replayed, None) or await receive()

        await self.app(scope, replay, send)


def contact(number: int, given: str) -> str:
    return (
        "apiVersion: reconciler/v1\nkind: Contact\n"
        f"metadata: {{name: c{number:04d}}}\nspec:\n  names: [{{givenName: {given}}}]\n"
    )


def write(folder: Path, edited: str | None = None) -> None:
    """Every contact in one file, replaced whole; ``edited`` is renamed Edited."""
    docs = [contact(n, "Edited" if f"c{n:04d}" == edited else f"Given{n}") for n in range(CONTACTS)]
    (folder / ".all.yaml.new").write_text("---\n".join(docs))
    (folder / ".all.yaml.new").replace(folder / "all.yaml")


def key_and_given(person: dict[str, Any]) -> tuple[str, str]:
    stamp = read_stamp(person.get("clientData"))
    assert stamp is not None
    return stamp.name, person["names"][0]["givenName"]


async def test_an_edit_during_a_creating_first_pass_is_written_before_the_rest(
    tmp_path: Path,
) -> None:
    """The first pass's first batch create is held at the server; a contact of a later batch
    is renamed, and the watch hears it; then the batch goes through. The next batch create
    the server sees holds the edited contact, already with its new name, before the rest of
    the creates; every contact is created exactly once, none is lost, the edited one is not
    written a second time."""
    from reconciler.controller.runner import run_controller
    from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app

    folder = tmp_path / "alice"
    folder.mkdir()
    write(folder)
    config = single_account([folder], owner="o", drift_policy=DriftPolicy.CORRECT, subject=USER)
    server_app = FirstCreateHeld(create_app(EmulatorConfig()))
    with BackgroundServer(server_app) as server:  # type: ignore[arg-type]
        settings = run_settings(
            server.url,
            tmp_path,
            intervals=Intervals(poll=3600, resync=3600, debounce=0.05),
        )
        stop = asyncio.Event()
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(run_controller(config, settings, stop=stop))
            try:
                await eventually_async(lambda: server_app.creates, "the first batch create")
                first = {key_and_given(p)[0] for p in server_app.creates[0]}
                edited = max(f"c{n:04d}" for n in range(CONTACTS) if f"c{n:04d}" not in first)
                write(folder, edited)

                def heard() -> bool:  # reloaded with the one change: the edit is queued
                    return any(e["event"] == "manifests loaded" and e["changed"] == 1 for e in logs)

                await eventually_async(heard, "the edit to be read")
                server_app.opened.set()

                async def converged() -> bool:
                    async with httpx.AsyncClient(base_url=server.url) as http:
                        users = (await http.get("/__emulator/dump")).json()["users"]
                    people = users.get(USER, {}).get("people", [])
                    given = dict(key_and_given(p) for p in people)
                    return len(people) == CONTACTS and given.get(edited) == "Edited"

                await eventually_async(converged, "every contact, the edit among them")
            finally:
                server_app.opened.set()
                stop.set()
                assert await asyncio.wait_for(task, LIMIT) == 0
    batches = [dict(key_and_given(p) for p in batch) for batch in server_app.creates]
    assert edited not in batches[0]
    assert batches[1].get(edited) == "Edited", "the edited contact goes in the next create"
    created = [key for batch in batches for key in batch]
    assert sorted(created) == [f"c{n:04d}" for n in range(CONTACTS)], "each created once"
    assert any(e["event"] == "pass stopped for an edit; the rest follows with it" for e in logs)


async def test_a_running_pass_is_asked_to_stop_by_a_valid_edit_only(tmp_path: Path) -> None:
    """While a pass runs, a manifest edit that does not load (a broken file) leaves it to
    finish: stopping it would leave its work to passes that the broken tree skips. A valid
    edit asks it to stop; the next pass writes the edited contact first."""
    from reconciler.controller.account import FULL, AccountWorker
    from reconciler.controller.accounts import Account
    from reconciler.controller.desired import DesiredStore
    from reconciler.controller.health import Health
    from reconciler.controller.metrics import Metrics
    from tests.support.backends import Backend

    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "a.yaml").write_text(contact(1, "Ann"))
    (folder / "b.yaml").write_text(contact(2, "Bob"))
    backend = Backend()
    backend.gate = asyncio.Event()
    account = Account(USER, (folder,), "o", suspend=False, drift_policy=DriftPolicy.CORRECT)
    worker = AccountWorker(
        account,
        backend,
        poller=None,
        store=DesiredStore(account.manifests),
        metrics=Metrics(),
        health=Health(),
        intervals=Intervals(poll=3600, resync=3600, debounce=0.05),
    )
    running = asyncio.create_task(worker.run())
    try:
        await eventually_async(lambda: backend.steering, "the first pass")
        stop = backend.steering[0].stop
        assert stop is not None
        (folder / "b.yaml").write_text("kind: Contact\nmetadata: {name: [broken\n")
        with structlog.testing.capture_logs() as logs:
            worker.manifests_changed()
            await eventually_async(
                lambda: any(e["event"] == "manifests are broken" for e in logs), "the reload"
            )
        assert not stop(), "a broken edit lets the pass finish"
        (folder / "b.yaml").write_text(contact(2, "Bobby"))
        with structlog.testing.capture_logs() as logs:
            worker.manifests_changed()
            await eventually_async(
                lambda: any(e["event"] == "manifests loaded" for e in logs), "the reload"
            )
        assert stop(), "a valid edit asks the pass to stop"
        backend.answers.append(stopped_result())
        backend.gate.set()
        await eventually_async(lambda: len(backend.steering) >= 2, "the pass with the edit")
        assert backend.steering[1].first == frozenset({"c0002"})
        assert FULL not in backend.steering[1].first
    finally:
        worker.shut_down()
        backend.gate.set()
        await asyncio.wait_for(running, LIMIT)


def stopped_result() -> Any:
    """What a pass stopped between two batches answers: nothing for what it did not send."""
    from reconciler.apply.results import ApplyResult

    return ApplyResult(stopped=True)
