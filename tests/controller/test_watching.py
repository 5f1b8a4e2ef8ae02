"""Watching manifests: bursts settle into one change, and a git-sync symlink flip is followed."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from reconciler.controller.watching import ReplicaWatcher
from reconciler.controller.watchplan import plan_watch
from tests.support.eventually import LIMIT, eventually_async


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Event()
        self.watcher: ReplicaWatcher | None = None

    def __call__(self) -> None:
        self.count += 1
        self.changed.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.changed.wait(), LIMIT)
        self.changed.clear()

    async def settled(self) -> None:
        """Wait until the watcher has no reload pending."""

        async def check() -> bool:
            return self.watcher is not None and self.watcher.settled

        await eventually_async(check, "the watcher to settle")

    async def attached(self, poke: Callable[[], None]) -> None:
        """Poke until a change is seen (the OS watch is live), then start counting afresh."""

        async def seen() -> bool:
            if self.count:
                return True
            poke()
            return False

        await eventually_async(seen, "the watch to attach")
        await self.settled()
        self.count = 0
        self.changed.clear()


@pytest.fixture
async def watch() -> AsyncIterator[Callable[[list[Path]], Counter]]:
    tasks: list[asyncio.Task[None]] = []

    def start(paths: list[Path]) -> Counter:
        counter = Counter()
        watcher = ReplicaWatcher(debounce=0.3)
        watcher.register("account", paths, counter)
        counter.watcher = watcher
        tasks.append(asyncio.create_task(watcher.run()))
        return counter

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


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
    assert plan.trees == (worktree.resolve(),)
    assert set(plan.folders) == {tmp_path.resolve(), worktree.parent.resolve()}
    assert plan.relevant(worktree.resolve() / "a.yaml")
    assert plan.relevant(tmp_path / "current")
    assert plan.relevant(tmp_path / "current" / "a.yaml")
    assert not plan.relevant(tmp_path.resolve() / ".git" / "index")


async def test_a_burst_of_edits_is_one_change(
    tmp_path: Path, watch: Callable[[list[Path]], Counter]
) -> None:
    """Several writes in quick succession produce a single reload."""
    (tmp_path / "a.yaml").write_text("a: 1\n")
    counter = watch([tmp_path])
    await counter.attached(lambda: (tmp_path / "a.yaml").write_text("a: 1\n"))
    for index in range(5):
        (tmp_path / "a.yaml").write_text(f"a: {index}\n")
        (tmp_path / f"new{index}.yaml").write_text("b: 1\n")
    await counter.next()
    await counter.settled()
    assert counter.count == 1


async def test_a_git_sync_flip_is_one_change_and_the_new_checkout_is_watched(
    tmp_path: Path, watch: Callable[[list[Path]], Counter]
) -> None:
    """Flipping `current` to a new worktree and removing the old one is one change; edits in
    the new worktree are then seen, and churn outside the checkout is not."""
    old = git_sync_checkout(tmp_path, "aaa", {"a.yaml": "a: 1\n"})
    counter = watch([tmp_path / "current"])
    await counter.attached(lambda: (old / "a.yaml").write_text("a: 1\n"))
    new = git_sync_checkout(tmp_path, "bbb", {"a.yaml": "a: 2\n", "b.yaml": "b: 1\n"})
    shutil.rmtree(old)
    await counter.next()
    await counter.settled()
    assert counter.count == 1
    (new / "b.yaml").write_text("b: 2\n")
    await counter.next()
    await counter.settled()
    assert counter.count == 2
    (tmp_path / ".git").mkdir()
    for index in range(20):  # churn beside the checkout is not a change
        (tmp_path / ".git" / "FETCH_HEAD").write_text(f"x{index}")
    (new / "b.yaml").write_text("b: 3\n")
    await counter.next()
    await counter.settled()
    assert counter.count == 3
