"""Two revisions of one manifest tree published the way git-sync does, and a swap mid-read.

``published(root)`` lays out ``root/.worktrees/{a,b}`` holding the same contacts, except that
``moved`` sits in ``early/`` in revision a and in ``late/`` in revision b, and points the link
``root/current`` at revision b. ``flipping_reads`` makes the swap deterministic: it hooks
``Path.read_bytes`` so that the link is repointed to the other revision right after chosen reads
of manifest files under the root, as if git-sync published between two of the loader's reads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {{name: {name}}}\n"
    "spec:\n  names: [{{givenName: {name}}}]\n"
)
NAMES = ("early/one", "middle/two", "late/three")


@dataclass
class Published:
    root: Path
    link: Path
    revisions: dict[str, Path]

    def current(self) -> str:
        return Path(os.readlink(self.link)).name

    def flip(self) -> None:
        """Atomically repoint the link at the other revision (rename over it, as git-sync)."""
        other = "a" if self.current() == "b" else "b"
        staged = self.root / f".link-{other}"
        os.symlink(Path(".worktrees") / other, staged)
        os.replace(staged, self.link)


def published(root: Path, *, commits: bool = False) -> Published:
    """Revisions a and b of the tree, ``current`` pointing at b; with ``commits`` each worktree
    has a ``.git`` file naming an admin folder whose HEAD is a commit, as git-sync leaves them."""
    revisions = {}
    for rev, moved_to in (("a", "early"), ("b", "late")):
        tree = root / ".worktrees" / rev
        for name in (*NAMES, f"{moved_to}/moved"):
            path = tree / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(CONTACT.format(name=Path(name).name))
        if commits:
            admin = root / ".git" / "worktrees" / rev
            admin.mkdir(parents=True)
            (admin / "HEAD").write_text(commit_of(rev) + "\n")
            (tree / ".git").write_text(f"gitdir: {admin}\n")
        revisions[rev] = tree
    link = root / "current"
    os.symlink(Path(".worktrees") / "b", link)
    return Published(root, link, revisions)


def commit_of(rev: str) -> str:
    return (rev * 40)[:40]


@contextmanager
def flipping_reads(
    monkeypatch: pytest.MonkeyPatch, tree: Published, flip_after: Callable[[int], bool]
) -> Iterator[list[int]]:
    """Flip ``tree``'s link right after the Nth read of a manifest file whenever
    ``flip_after(N)`` (N counts from 1). Yields ``[reads, flips]``, updated as they happen."""
    counts = [0, 0]
    lock = threading.Lock()
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        data = original(self)
        if self.suffix == ".yaml" and tree.root in self.parents:
            with lock:
                counts[0] += 1
                if flip_after(counts[0]):
                    tree.flip()
                    counts[1] += 1
        return data

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    yield counts
