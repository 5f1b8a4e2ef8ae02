"""Which revision of the manifests a load read: one fixed directory, and the commit it holds.

git-sync publishes every revision by checking it out into a new worktree and atomically
repointing a symbolic link (``root/link -> root/.worktrees/<sha>``); Kubernetes updates a
ConfigMap volume the same way through its ``..data`` link. Reading *through* such a link while
it is repointed mixes two revisions: a file moved between folders is seen in neither (and a
pruning controller deletes it) or in both. So a load pins each path once (every link along it
resolved, and a ConfigMap volume's ``..data`` followed), reads only beneath the pinned
directory, and then checks that the path still leads there; if it moved, the load starts again.

The revision a load reports is the git commit of the pinned directory when it is a git checkout
or a git worktree (read from ``.git`` without running git), else a digest of the bytes read.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["CONFIGMAP_DATA", "Digest", "Pin", "git_commit", "pin"]

CONFIGMAP_DATA: Final = "..data"  # the link a Kubernetes atomic volume repoints on each update
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 repositories


@dataclass(frozen=True, slots=True)
class Pin:
    """A manifest path fixed to the directory (or file) it led to when the load started.

    ``real`` is None when the path does not exist or its links loop; the walk reports that.
    """

    given: Path  # as the user wrote it; errors are shown under it
    anchor: Path  # the path whose target is the revision: ``given``, or its ``..data`` link
    real: Path | None

    def moved(self) -> bool:
        """The path leads somewhere else now: a new revision was published during the read."""
        return _resolve(self.anchor) != self.real


def pin(path: Path) -> Pin:
    """Resolve ``path`` once, following a ConfigMap volume's ``..data`` link if it has one."""
    data = path / CONFIGMAP_DATA
    anchor = data if data.is_symlink() else path
    return Pin(path, anchor, _resolve(anchor))


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None


class Digest:
    """A running SHA-256 of the files read, each under its path relative to the given root, so
    the same content checked out in two worktrees has the same digest."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, name: str, data: bytes) -> None:
        encoded = name.encode("utf-8", "surrogateescape")
        self._hash.update(len(encoded).to_bytes(4, "big") + encoded)
        self._hash.update(len(data).to_bytes(8, "big") + data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def git_commit(directory: Path) -> str | None:
    """The commit checked out at ``directory`` (or the nearest folder above it holding
    ``.git``): a repository's ``.git`` folder, or a worktree's ``.git`` file naming its admin
    folder. None when there is no repository, HEAD names no commit yet, or it cannot be read."""
    for folder in (directory, *directory.parents):
        dot_git = folder / ".git"
        try:
            if dot_git.is_dir():
                return _head(dot_git)
            if dot_git.is_file():
                text = dot_git.read_text(encoding="utf-8").strip()
                if not text.startswith("gitdir:"):
                    return None
                return _head(folder / text.removeprefix("gitdir:").strip())
        except (OSError, UnicodeDecodeError):
            return None
    return None


def _head(git_dir: Path) -> str | None:
    head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    if _OBJECT_ID.fullmatch(head):  # detached, as in every git-sync worktree
        return head
    if not head.startswith("ref:"):
        return None
    ref = head.removeprefix("ref:").strip()
    common = git_dir
    if (git_dir / "commondir").is_file():  # a linked worktree keeps branch refs in the main one
        common = git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()
    for base in dict.fromkeys((git_dir, common)):
        loose = base / ref
        if loose.is_file():
            value = loose.read_text(encoding="utf-8").strip()
            return value if _OBJECT_ID.fullmatch(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and _OBJECT_ID.fullmatch(parts[0]):
                return parts[0]
    return None
