"""One watch per replica: every account hears its own changes, however many accounts there are,
and a watch the OS refuses is a loud failure with edits still picked up by polling."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import watchfiles
from structlog.testing import capture_logs

from reconciler.controller.account import Intervals
from reconciler.controller.accounts import DriftPolicy, load_accounts
from reconciler.controller.runner import RunSettings, run_controller
from reconciler.controller.watching import ReplicaWatcher, WatchState
from reconciler.statedir import StateDir
from tests.support.eventually import eventually_async
from tests.support.manifests import contact_yaml
from tests.support.pacing import UNPACED


def inotify_instances() -> int:
    """inotify instances this process holds open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:inotify"
        except OSError:  # closed meanwhile
            continue
    return count


class Heard:
    """How many reloads each account was asked for."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, key: str) -> Callable[[], None]:
        self.counts.setdefault(key, 0)

        def changed() -> None:
            self.counts[key] += 1

        return changed


@pytest.fixture
async def running() -> AsyncIterator[Callable[[ReplicaWatcher], None]]:
    tasks: list[asyncio.Task[None]] = []

    def start(watcher: ReplicaWatcher) -> None:
        tasks.append(asyncio.create_task(watcher.run()))

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def attached(
    watcher: ReplicaWatcher, heard: Heard, key: str, poke: Callable[[], Any]
) -> None:
    """Poke until ``key`` hears a change (the watch is live), then wait until it settles."""
    before = heard.counts[key]

    async def seen() -> bool:
        if heard.counts[key] > before:
            return True
        poke()
        return False

    await eventually_async(seen, "the watch to attach")

    async def settled() -> bool:
        return watcher.settled

    await eventually_async(settled, "the watcher to settle")


def edit(path: Path) -> None:
    """Give ``path`` new content."""
    path.write_text(f"v: {os.urandom(4).hex()}\n")


async def heard_by(
    watcher: ReplicaWatcher, heard: Heard, path: Path, expected: set[str]
) -> set[str]:
    """Edit ``path``; once the ``expected`` accounts heard it and the watcher settled, return
    every account that heard it."""
    before = dict(heard.counts)
    edit(path)

    def reached() -> bool:
        return all(heard.counts[key] > before[key] for key in expected)

    await eventually_async(reached, f"{sorted(expected)} to hear {path}")
    await eventually_async(lambda: watcher.settled, "the watcher to settle")
    return {key for key, count in heard.counts.items() if count > before.get(key, 0)}


async def test_accounts_sharing_a_root_or_in_its_sub_folders_each_hear_only_their_changes(
    tmp_path: Path, running: Callable[[ReplicaWatcher], None]
) -> None:
    """One account watches the whole root, two share a sub-folder, one has another sub-folder:
    an edit under the shared folder reaches the root's account and both sharers, an edit in the
    other sub-folder reaches the root's account and its own, nobody else."""
    root = tmp_path / "manifests"
    for folder in ("b", "c"):
        (root / folder).mkdir(parents=True)
        (root / folder / "x.yaml").write_text("v: 0\n")
    heard = Heard()
    watcher = ReplicaWatcher(debounce=0.1)
    watcher.register("whole", [root], heard("whole"))
    watcher.register("b", [root / "b"], heard("b"))
    watcher.register("b-too", [root / "b" / "x.yaml"], heard("b-too"))
    watcher.register("c", [root / "c"], heard("c"))
    running(watcher)
    await attached(watcher, heard, "whole", lambda: (root / "poke.yaml").write_text("v: 0\n"))
    b = {"whole", "b", "b-too"}
    assert await heard_by(watcher, heard, root / "b" / "x.yaml", b) == b
    assert await heard_by(watcher, heard, root / "c" / "x.yaml", {"whole", "c"}) == {"whole", "c"}


async def test_accounts_join_and_leave_while_the_watch_runs(
    tmp_path: Path, running: Callable[[ReplicaWatcher], None]
) -> None:
    """An account registered after the watch started hears its edits; one unregistered hears
    nothing more, and the others go on hearing theirs."""
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.yaml").write_text("v: 0\n")
    heard = Heard()
    watcher = ReplicaWatcher(debounce=0.1)
    watcher.register("a", [tmp_path / "a"], heard("a"))
    watcher.register("b", [tmp_path / "b"], heard("b"))
    running(watcher)
    await attached(watcher, heard, "a", lambda: (tmp_path / "a" / "x.yaml").write_text("v: 0\n"))
    watcher.register("c", [tmp_path / "c"], heard("c"))
    await attached(watcher, heard, "c", lambda: (tmp_path / "c" / "x.yaml").write_text("v: 1\n"))
    watcher.unregister("b")
    gone = heard.counts["b"]
    (tmp_path / "b" / "x.yaml").write_text("v: 2\n")
    # (c may still hear a late echo of the pokes that found its watch attached)
    assert "b" not in await heard_by(watcher, heard, tmp_path / "a" / "x.yaml", {"a"})
    assert heard.counts["b"] == gone


async def test_many_accounts_share_one_watch_of_two_inotify_instances(
    tmp_path: Path, running: Callable[[ReplicaWatcher], None]
) -> None:
    """However many accounts register, the replica holds two inotify instances (a tree watch
    and a folder watch), and an edit in the last account is heard by it alone."""
    baseline = inotify_instances()
    heard = Heard()
    watcher = ReplicaWatcher(debounce=0.1)
    for n in range(200):
        folder = tmp_path / f"user{n}"
        folder.mkdir()
        (folder / "c.yaml").write_text("v: 0\n")
        watcher.register(f"user{n}", [folder], heard(f"user{n}"))
    running(watcher)
    last = tmp_path / "user199" / "c.yaml"
    await attached(watcher, heard, "user199", lambda: last.write_text("v: 1\n"))
    assert inotify_instances() - baseline <= 2
    assert await heard_by(watcher, heard, last, {"user199"}) == {"user199"}


def refusing(polled: list[bool]) -> Any:
    """A stream factory whose OS watch is refused as a full instance table refuses it; polling
    works (every 50 ms, to keep the test short)."""

    def streams(
        roots: tuple[Path, ...], recursive: bool, stop: asyncio.Event, polling: bool
    ) -> Any:
        polled.append(polling)
        if not polling:
            raise RuntimeError(
                "Error creating recommended watcher: Too many open files (os error 24)"
            )
        return watchfiles.awatch(
            *roots, watch_filter=None, step=50, recursive=recursive, stop_event=stop,
            force_polling=True, poll_delay_ms=50,
        )  # fmt: skip

    return streams


async def test_a_refused_watch_is_loud_and_edits_are_polled(
    tmp_path: Path, running: Callable[[ReplicaWatcher], None]
) -> None:
    """When inotify is refused the watcher says so once in an error line naming the sysctl to
    raise, reports the watch down (with the reason) to its observer, and edits are still heard
    through polling."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "c.yaml").write_text("v: 0\n")
    heard = Heard()
    polled: list[bool] = []
    states: list[WatchState] = []
    watcher = ReplicaWatcher(debounce=0.1, streams=refusing(polled), observe=states.append)
    watcher.register("a", [folder], heard("a"))
    with capture_logs() as logs:
        running(watcher)
        await attached(watcher, heard, "a", lambda: (folder / "c.yaml").write_text("v: 1\n"))
    assert polled[0] is False
    assert True in polled
    assert states
    assert not states[0].up
    assert "fs.inotify.max_user_instances" in states[0].reason
    assert "Too many open files" in states[0].reason
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1
    assert "fs.inotify.max_user_instances" in errors[0]["hint"]
    assert watcher.state == WatchState(False, states[0].reason)


def accounts_file(tmp_path: Path, users: int) -> Path:
    lines = ["accounts:"]
    for n in range(users):
        folder = tmp_path / "manifests" / f"user{n}"
        folder.mkdir(parents=True)
        (folder / "c.yaml").write_text(contact_yaml(f"friend{n}", f"Friend{n}"))
        lines.append(f"  - {{subject: user{n}@example.com, manifests: manifests/user{n}}}")
    config = tmp_path / "accounts.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


async def given_name(http: httpx.AsyncClient, user: str) -> str | None:
    book = (await http.get("/__emulator/dump")).json()["users"].get(user, {})
    people = book.get("people", [])
    return str(people[0]["names"][0]["givenName"]) if people else None


async def test_a_controller_of_many_accounts_watches_them_all_with_two_instances(
    tmp_path: Path, emulator_server: Any
) -> None:
    """A controller of 40 accounts (each its own folder) opens at most two inotify instances,
    not two per account (128 per user is the kernel's default, shared by every process of the
    user), and an edit in its last account is applied."""
    users = 40
    config = load_accounts(
        accounts_file(tmp_path, users), default_owner="ops", drift_policy=DriftPolicy.CORRECT
    )
    settings = RunSettings(
        target=emulator_server.url,
        state_dir=StateDir.at(tmp_path / "state"),
        intervals=Intervals(poll=5, resync=3600, debounce=0.1),
        health_addr="0",
        metrics_addr="0",
        pacing=UNPACED.pacing,  # 40 first passes' reads would wait for the project's budget
    )
    baseline = inotify_instances()
    peak = 0
    stop = asyncio.Event()
    task = asyncio.create_task(run_controller(config, settings, stop=stop))
    last = f"user{users - 1}@example.com"
    async with httpx.AsyncClient(base_url=emulator_server.url, timeout=10) as http:

        async def converged() -> bool:
            nonlocal peak
            peak = max(peak, inotify_instances() - baseline)
            return await given_name(http, last) == f"Friend{users - 1}"

        await eventually_async(converged, "the last account to converge")
        path = tmp_path / "manifests" / f"user{users - 1}" / "c.yaml"

        async def edited() -> bool:
            nonlocal peak
            peak = max(peak, inotify_instances() - baseline)
            path.write_text(contact_yaml(f"friend{users - 1}", "Edited"))
            return await given_name(http, last) == "Edited"

        await eventually_async(edited, "the edit of the last account to be applied")
    stop.set()
    assert await asyncio.wait_for(task, 60) == 0
    assert peak <= 2
