"""Watching manifests: bursts settle into one change, and a git-sync symlink flip is followed."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from reconciler.controller.watching import ManifestWatcher, plan_watch

GENEROUS = 20.0  # seconds to wait for something that should take a fraction of one


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.changed.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.changed.wait(), GENEROUS)
        self.changed.clear()


@pytest.fixture
async def watch() -> AsyncIterator[Callable[[list[Path]], Counter]]:
    tasks: list[asyncio.Task[None]] = []

    def start(paths: list[Path]) -> Counter:
        counter = Counter()
        watcher = ManifestWatcher(paths, debounce=0.3, on_change=counter)
        tasks.append(asyncio.create_task(watcher.run()))
        return counter

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def started() -> None:
    await asyncio.sleep(0.5)  # let the OS watch attach before the test changes files


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
    tmp_path: Path, watch: Callable[[list[Path]], Counter]
) -> None:
    """Several writes in quick succession produce a single reload."""
    (tmp_path / "a.yaml").write_text("a: 1\n")
    counter = watch([tmp_path])
    await started()
    for index in range(5):
        (tmp_path / "a.yaml").write_text(f"a: {index}\n")
        (tmp_path / f"new{index}.yaml").write_text("b: 1\n")
    await counter.next()
    await asyncio.sleep(1.0)
    assert counter.count == 1


async def test_a_git_sync_flip_is_one_change_and_the_new_checkout_is_watched(
    tmp_path: Path, watch: Callable[[list[Path]], Counter]
) -> None:
    """Flipping `current` to a new worktree and removing the old one is one change; edits in
    the new worktree are then seen, and churn outside the checkout is not."""
    old = git_sync_checkout(tmp_path, "aaa", {"a.yaml": "a: 1\n"})
    counter = watch([tmp_path / "current"])
    await started()
    new = git_sync_checkout(tmp_path, "bbb", {"a.yaml": "a: 2\n", "b.yaml": "b: 1\n"})
    shutil.rmtree(old)
    await counter.next()
    await asyncio.sleep(1.0)
    assert counter.count == 1
    (new / "b.yaml").write_text("b: 2\n")
    await counter.next()
    assert counter.count == 2
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "FETCH_HEAD").write_text("x")
    await asyncio.sleep(1.0)
    assert counter.count == 2
