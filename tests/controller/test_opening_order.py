"""An account edited before the replica has opened it opens next, not in its turn.

At start a replica opens its accounts a few dozen at a time, each behind a profile read paced
by the project's read budget (~19 s for a thousand), in the accounts file's order. An edit to
an account at the end of that order used to wait for every other account to open first; the
fleet's opening line now puts it before every account still waiting, and its pass, which
carries the edit, goes before theirs.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import MutableMapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import structlog

from reconciler.controller.account import Intervals
from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.fleet import OPENING_AT_ONCE, Fleet
from tests.support.controller import run_settings
from tests.support.eventually import LIMIT, eventually_async
from tests.support.manifests import contact_yaml

ACCOUNTS = OPENING_AT_ONCE + 8


class ProfileGate:
    """The emulator, holding each profile read (``people/me``) until the test lets one more
    through (:meth:`allow`), and recording who asked for a profile and who wrote, in the order
    the server saw them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.reads: list[str] = []  # the subject of each profile read, as it arrived
        self.writes: list[str] = []  # the subject of each write, as it arrived
        self.answered = 0  # profile reads answered
        self._allowed = 0.0  # profile reads let through, so far
        self._passed = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None

    def allow(self, more: float) -> None:
        """Let ``more`` profile reads through (``math.inf``: every one); from any thread."""

        def bump() -> None:
            self._allowed += more
            assert self._changed is not None
            self._changed.set()

        assert self._loop is not None, "no profile read came yet"
        self._loop.call_soon_threadsafe(bump)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__emulator"):
            await self.app(scope, receive, send)
            return
        token = dict(scope["headers"]).get(b"authorization", b"").decode()
        subject = token.rpartition("user:")[2]
        if scope["method"] != "GET":
            self.writes.append(subject)
        if scope["method"] != "GET" or not scope["path"].endswith("/people/me"):
            await self.app(scope, receive, send)
            return
        self.reads.append(subject)
        if self._changed is None:
            self._loop, self._changed = asyncio.get_running_loop(), asyncio.Event()
        while self._passed >= self._allowed:
            self._changed.clear()
            await self._changed.wait()
        self._passed += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.answered += 1


def subject(number: int) -> str:
    return f"user{number:02d}@example.com"


def accounts_file(root: Path) -> Path:
    lines = ["accounts:"]
    for number in range(ACCOUNTS):
        folder = root / f"user{number:02d}"
        folder.mkdir()
        (folder / "ada.yaml").write_text(contact_yaml("ada", f"Ada{number}"))
        lines.append(f"  - {{subject: {subject(number)}, manifests: user{number:02d}}}")
    config = root / "accounts.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


async def test_an_account_edited_before_it_is_opened_opens_and_writes_before_the_waiting_ones(
    tmp_path: Path,
) -> None:
    """Every profile read is held at the server, so the replica's first openings (as many as
    it opens at once) stand still and the rest wait in line. The last account of the file is
    edited: once reads are let through one by one, it is the first of those waiting whose
    profile is asked for, and its first write comes before the first write of every account
    that was still waiting (one pass at a time, so the pass line's order shows); its contact
    carries the edit."""
    from reconciler.controller.accounts import load_accounts
    from reconciler.controller.runner import run_controller
    from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app

    config = load_accounts(
        accounts_file(tmp_path), default_owner="o", drift_policy=DriftPolicy.CORRECT
    )
    edited = ACCOUNTS - 1
    gate = ProfileGate(create_app(EmulatorConfig()))
    with BackgroundServer(gate) as server:  # type: ignore[arg-type]
        settings = run_settings(
            server.url,
            tmp_path,
            concurrent_passes=1,
            intervals=Intervals(poll=3600, resync=3600, debounce=0.05),
        )
        stop = asyncio.Event()
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(run_controller(config, settings, stop=stop))
            try:

                def watching() -> bool:  # the accounts' paths are planned: an edit is seen
                    return any(e["event"] == "watching manifests" for e in logs)

                await eventually_async(watching, "the replica's watch")
                await eventually_async(
                    lambda: len(set(gate.reads)) >= OPENING_AT_ONCE, "the first openings"
                )
                folder = tmp_path / f"user{edited:02d}"
                (folder / ".ada.yaml.new").write_text(contact_yaml("ada", "Edited"))
                (folder / ".ada.yaml.new").replace(folder / "ada.yaml")

                def hurried() -> bool:
                    return any(
                        e["event"].endswith("it opens next") and e.get("account") == subject(edited)
                        for e in logs
                    )

                await eventually_async(hurried, "the edited account to be put first in line")
                waiting = {subject(n) for n in range(ACCOUNTS)} - set(gate.reads)
                while not waiting & set(gate.reads):  # one read at a time: one turn frees
                    answered = gate.answered
                    gate.allow(1)
                    await eventually_async(
                        functools.partial(lambda n: gate.answered > n, answered), "a profile read"
                    )
                gate.allow(math.inf)

                async def edited_live() -> bool:
                    async with httpx.AsyncClient(base_url=server.url) as http:
                        users = (await http.get("/__emulator/dump")).json()["users"]
                    people = users.get(subject(edited), {}).get("people", [])
                    return [p["names"][0]["givenName"] for p in people] == ["Edited"]

                await eventually_async(edited_live, "the edit applied")
                await eventually_async(
                    lambda: waiting <= set(gate.writes), "the waiting accounts to write"
                )
            finally:
                stop.set()
                assert await asyncio.wait_for(task, LIMIT) == 0
    assert subject(edited) in waiting, "the edited account waited in line"
    assert len(waiting) > 1, "others waited with it"
    later = [s for s in dict.fromkeys(gate.reads) if s in waiting]
    assert later[0] == subject(edited), f"opened in the order {later}"
    first_writes = [s for s in dict.fromkeys(gate.writes) if s in waiting]
    assert first_writes[0] == subject(edited), f"first writes in the order {first_writes}"


def account(key: str) -> Account:
    return Account(key, (Path(key),), "o", suspend=False, drift_policy=DriftPolicy.CORRECT)


async def test_the_opening_line_serves_a_hurried_account_before_those_waiting() -> None:
    """With every opening turn taken, an account hurried while it waits is the next one
    opened; an account hurried before it is even in line is opened first of its batch; the
    others keep the order they were asked in."""
    opened: list[str] = []
    held: dict[str, asyncio.Event] = {}

    async def opener(stack: AsyncExitStack, joining: Account) -> Any:
        opened.append(joining.key)
        held[joining.key] = asyncio.Event()
        await held[joining.key].wait()
        raise RuntimeError("not opened")  # left out and forgotten: the fleet carries on

    fleet = Fleet(opener=opener)
    fleet.hurry("early")
    keys = [f"a{n:02d}" for n in range(OPENING_AT_ONCE + 3)]
    opening = asyncio.create_task(fleet.update([account(k) for k in [*keys, "early"]]))
    await eventually_async(lambda: len(opened) == OPENING_AT_ONCE, "every turn taken")
    assert opened[0] == "early"
    fleet.hurry(keys[-1])
    for key in list(opened):
        held[key].set()
    await eventually_async(lambda: len(opened) == len(keys) + 1, "every account opened")
    for key in opened:
        held[key].set()
    await asyncio.wait_for(opening, LIMIT)
    assert opened[OPENING_AT_ONCE:] == [keys[-1], *keys[OPENING_AT_ONCE - 1 : -1]]
