"""The watcher never goes deaf: every way tools and sidecars replace manifests is noticed, every
time, not only the first.

Each scenario changes the manifests five times in a row. Before each change the watcher is
settled (no burst pending), so a reload seen afterwards was caused by that change; the reload
must have read the new content.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reconciler.controller.watching import ReplicaWatcher
from tests.support.eventually import eventually_async
from tests.support.pod import git_sync, project_configmap

ROUNDS = 5


def contents(path: Path) -> str:
    """What a reload would read at ``path`` (a file, or every YAML file under a folder)."""
    if path.is_file():
        return path.read_text()
    return "".join(
        f"{p.relative_to(path)}:{p.read_text()}"
        for p in sorted(path.rglob("*.yaml"))
        if p.is_file()
    )


@dataclass
class Seen:
    """Records what each reload read."""

    path: Path
    reads: list[str] = field(default_factory=list)

    def __call__(self) -> None:
        try:
            self.reads.append(contents(self.path))
        except OSError:  # caught mid-swap: the next reload reads the settled tree
            self.reads.append("")


@pytest.fixture
async def watching() -> AsyncIterator[Callable[[Path], tuple[ReplicaWatcher, Seen]]]:
    tasks: list[asyncio.Task[None]] = []

    def start(path: Path) -> tuple[ReplicaWatcher, Seen]:
        seen = Seen(path)
        watcher = ReplicaWatcher(debounce=0.2)
        watcher.register("account", [path], seen)
        tasks.append(asyncio.create_task(watcher.run()))
        return watcher, seen

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def noticed_every_time(
    path: Path, watcher: ReplicaWatcher, seen: Seen, change: Callable[[int], None]
) -> None:
    """Make ``ROUNDS`` changes; each must be followed by a reload that reads it."""

    async def attached() -> bool:  # poke until the first change is seen: the watch is live
        if seen.reads:
            return True
        change(0)
        return False

    await eventually_async(attached, "the watch to attach")
    for round in range(1, ROUNDS + 1):

        async def settled() -> bool:
            return watcher.settled

        await eventually_async(settled, "the watcher to settle")
        reads = len(seen.reads)
        change(round)
        expected = contents(path)

        async def read_it(reads: int = reads, expected: str = expected) -> bool:
            return expected in seen.reads[reads:]

        await eventually_async(read_it, f"change {round} of {ROUNDS} to be noticed")


def manifest(version: int) -> str:
    return f"apiVersion: reconciler/v1\nkind: Contact\nmetadata: {{name: c}}\n# v{version}\n"


async def test_a_file_saved_atomically_is_noticed_every_time(
    tmp_path: Path, watching: Callable[[Path], tuple[ReplicaWatcher, Seen]]
) -> None:
    """A watched file replaced by rename (vim, sed -i: write a temporary file, rename it over)
    is noticed on every save, not just the first."""
    path = tmp_path / "contacts.yaml"
    path.write_text(manifest(0))

    def save(version: int) -> None:
        temporary = tmp_path / f".contacts.yaml.{version}.tmp"
        temporary.write_text(manifest(version) + f"# {os.urandom(4).hex()}\n")
        os.replace(temporary, path)

    await noticed_every_time(path, *watching(path), save)


def fill(folder: Path, version: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.yaml").write_text(manifest(version) + f"# {os.urandom(4).hex()}\n")


def swap_by_renames(path: Path, version: int) -> None:
    """`mv m m.old && mv m.new m`, then the old one removed."""
    fill(path.with_name("m.new"), version)
    os.rename(path, path.with_name("m.old"))
    os.rename(path.with_name("m.new"), path)
    shutil.rmtree(path.with_name("m.old"))


def delete_and_copy(path: Path, version: int) -> None:
    """`rm -rf m && cp -r src m`."""
    source = path.with_name(f"src{version}")
    fill(source, version)
    shutil.rmtree(path)
    shutil.copytree(source, path)


@pytest.mark.parametrize("replace", [swap_by_renames, delete_and_copy], ids=["mv", "rm-cp"])
async def test_a_replaced_folder_is_noticed_and_so_are_later_edits_inside_it(
    tmp_path: Path,
    watching: Callable[[Path], tuple[ReplicaWatcher, Seen]],
    replace: Callable[[Path, int], None],
) -> None:
    """A watched folder replaced by renames or by delete-and-copy, alternating with edits
    inside the new folder: every one noticed."""
    path = tmp_path / "m"
    fill(path, 0)

    def change(version: int) -> None:
        if version % 2:
            replace(path, version)
        else:
            fill(path, version)

    await noticed_every_time(path, *watching(path), change)


@pytest.mark.parametrize("watched", ["alice", ""], ids=["through-its-link", "whole-volume"])
async def test_configmap_data_swaps_are_noticed_every_time(
    tmp_path: Path, watching: Callable[[Path], tuple[ReplicaWatcher, Seen]], watched: str
) -> None:
    """A ConfigMap volume updated by the kubelet (new timestamped folder, `..data` renamed over,
    old folder removed), watched through its `alice -> ..data/alice` link or as a whole."""
    volume = tmp_path / "volume"
    project_configmap(volume, {"alice/a.yaml": manifest(0)})

    def change(version: int) -> None:
        text = manifest(version) + f"# {os.urandom(4).hex()}\n"
        project_configmap(volume, {"alice/a.yaml": text, "alice/b.yaml": text})

    path = volume / watched if watched else volume
    await noticed_every_time(path, *watching(path), change)


async def test_git_sync_link_flips_are_noticed_every_time(
    tmp_path: Path, watching: Callable[[Path], tuple[ReplicaWatcher, Seen]]
) -> None:
    """git-sync checks every revision out into a new worktree, flips `current` to it and
    removes the old one; a folder inside the checkout is watched."""
    root = tmp_path / "git"
    git_sync(root, "rev0", {"alice/a.yaml": manifest(0)})
    flips = iter(range(1, 1000))

    def change(version: int) -> None:
        text = manifest(version) + f"# {os.urandom(4).hex()}\n"
        git_sync(root, f"rev{next(flips)}", {"alice/a.yaml": text})

    await noticed_every_time(
        root / "current" / "alice", *watching(root / "current" / "alice"), change
    )
