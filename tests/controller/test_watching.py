"""Watching manifests: bursts settle into one change, and a git-sync symlink flip is followed."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from reconciler.controller.watching import ManifestWatcher, plan_watch
from tests.support.eventually import NeverHappened, eventually_async


class Reloads:
    """The reloads a watcher asked for, each with the files the tree held at that moment.

    Tests wait on these effects, never on a guess of how long the OS or the debounce takes: a
    burst is shown to be one reload by writing a marker afterwards and waiting for the reload
    that sees the marker; every reload before that one belongs to the burst.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: list[frozenset[str]] = []

    def __call__(self) -> None:
        files = (p for p in self.root.rglob("*") if p.is_file())
        self.seen.append(frozenset(str(p.relative_to(self.root)) for p in files))

    @property
    def count(self) -> int:
        return len(self.seen)

    async def next(self) -> None:
        """Wait for one more reload than there are now."""
        before = self.count
        await eventually_async(lambda: self.count > before, "a reload")

    async def marked(self, marker: Path) -> int:
        """Write ``marker`` and wait for a reload that sees it; the reloads before that one."""
        before = self.count
        marker.write_text("marker: 1\n")  # noqa: ASYNC240 (a tiny local write is the point)
        name = str(marker.relative_to(self.root))
        await eventually_async(
            lambda: any(name in files for files in self.seen[before:]), f"a reload seeing {name}"
        )
        return next(i for i, files in enumerate(self.seen) if name in files)


@pytest.fixture
async def watch() -> AsyncIterator[Callable[[list[Path], Path], Reloads]]:
    tasks: list[asyncio.Task[None]] = []

    def start(paths: list[Path], root: Path) -> Reloads:
        reloads = Reloads(root)
        watcher = ManifestWatcher(paths, debounce=0.3, on_change=reloads)
        tasks.append(asyncio.create_task(watcher.run()))
        return reloads

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def attached(reloads: Reloads, folder: Path) -> None:
    """Wait until the OS watch is attached: write a probe into ``folder`` until a reload shows
    it (each look waits longer, so a slow attach is not poked into a burst), then count anew."""
    probe = folder / "probe.yaml"
    for attempt in itertools.count():
        probe.write_text(f"probe: {attempt}\n")
        try:
            await eventually_async(lambda: reloads.count, "the watch", limit=0.5 * 2**attempt)
            break
        except NeverHappened:
            if attempt >= 6:  # about a minute in all
                raise
    mark = await reloads.marked(folder / "attached.yaml")
    del reloads.seen[: mark + 1]


def git_sync_checkout(root: Path, revision: str, files: dict[str, str]) -> Path:
    """Check ``files`` out into a new worktree and flip ``root/current`` to it atomically."""
    worktree = root / ".worktrees" / revision
    worktree.mkdir(parents=True)
    for name, text in files.items():
        (worktree / name).write_text(text)
    temporary = root / f".current-{revision}"
    temporary.symlink_to(worktree, target_is_directory=True)
    os.replace(temporary, root / "current")
    return worktree


def test_the_watch_plan_follows_symlinks(tmp_path: Path) -> None:
    """A manifest path through a link watches the link's folder and the resolved target."""
    worktree = git_sync_checkout(tmp_path, "aaa", {"a.yaml": ""})
    plan = plan_watch([tmp_path / "current"])
    assert plan.targets == (worktree.resolve(),)
    assert plan.links == (tmp_path / "current",)
    assert plan.roots == (tmp_path.resolve(),)
    assert plan.relevant(worktree.resolve() / "a.yaml")
    assert plan.relevant(tmp_path / "current")
    assert plan.relevant(tmp_path / "current" / "a.yaml")
    assert not plan.relevant(tmp_path.resolve() / ".git" / "index")


async def test_a_burst_of_edits_is_one_change(
    tmp_path: Path, watch: Callable[[list[Path], Path], Reloads]
) -> None:
    """Several writes in quick succession produce a single reload."""
    (tmp_path / "a.yaml").write_text("a: 1\n")
    reloads = watch([tmp_path], tmp_path)
    await attached(reloads, tmp_path)
    for index in range(5):
        (tmp_path / "a.yaml").write_text(f"a: {index}\n")
        (tmp_path / f"new{index}.yaml").write_text("b: 1\n")
    await reloads.next()
    assert await reloads.marked(tmp_path / "after-the-burst.yaml") == 1


async def test_a_git_sync_flip_is_one_change_and_the_new_checkout_is_watched(
    tmp_path: Path, watch: Callable[[list[Path], Path], Reloads]
) -> None:
    """Flipping `current` to a new worktree and removing the old one is one change; edits in
    the new worktree are then seen, and churn outside the checkout is not."""
    old = git_sync_checkout(tmp_path, "aaa", {"a.yaml": "a: 1\n"})
    current = tmp_path / "current"
    reloads = watch([current], current)
    await attached(reloads, current)
    new = git_sync_checkout(tmp_path, "bbb", {"a.yaml": "a: 2\n", "b.yaml": "b: 1\n"})
    shutil.rmtree(old)
    await reloads.next()
    assert await reloads.marked(current / "after-the-flip.yaml") == 1
    del reloads.seen[:]
    (new / "b.yaml").write_text("b: 2\n")
    await reloads.next()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "FETCH_HEAD").write_text("x")
    assert await reloads.marked(current / "after-the-churn.yaml") == 1


async def test_a_watch_the_os_refuses_is_set_up_again_and_reloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the OS refuses a watch (out of inotify instances), the watcher does not die
    silently: it tries again after a pause and reloads, so a change made meanwhile is seen."""
    import reconciler.controller.watching as watching

    real = watching.watchfiles.awatch
    refusals = [OSError(24, "inotify instance limit reached")]

    def refusing(*args: object, **kwargs: object) -> object:
        if refusals:
            raise refusals.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(watching.watchfiles, "awatch", refusing)
    monkeypatch.setattr(watching, "RETRY_BASE", 0.01)
    reloads = Reloads(tmp_path)
    task = asyncio.create_task(ManifestWatcher([tmp_path], debounce=0.05, on_change=reloads).run())
    try:
        await reloads.next()  # the reload after the refused watch
        assert not refusals
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
