"""What to hand the OS watcher for a set of manifest paths, and how to tell their events apart.

An OS watch (inotify) is attached to an inode, not to a name, and tools replace names all the
time: editors and ``sed -i`` save a file by renaming a new one over it, scripts swap folders
(``mv m m.old && mv m.new m``, ``rm -rf m && cp -r``), the kubelet updates a ConfigMap volume by
renaming its ``..data`` link to a new timestamped folder, and git-sync checks each revision out
into a new worktree and flips its ``current`` link to it. A watch that stays on the old inode
hears nothing ever again. So a plan records the identity (device, inode) of every manifest
path, resolved, and of every link along the way; the watcher recomputes plans after events and
after a few quiet seconds, and follows the new layout when an identity moved. Every manifest
path's parent folder is watched too (not recursively), so the replacement itself is an event: a
file is watched through its folder, never by its own inode.

One replica watches the paths of all its accounts with one watch set (:class:`Layout`, the union
of every account's :class:`WatchPlan`): the kernel gives each user only 128 inotify instances by
default, so a watch per account stops working past a few dozen accounts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Identity", "Layout", "WatchPlan", "combine", "plan_watch"]

Identity = tuple[str, int, int]  # (path, device, inode); inode 0 when the path is missing


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """What one account's manifest paths need watched, and how to tell relevant events."""

    trees: tuple[Path, ...]  # folders watched recursively (manifest folders)
    folders: tuple[Path, ...]  # folders watched on their own (parents of paths and links)
    targets: tuple[Path, ...]  # the manifest paths with every symlink resolved
    links: tuple[Path, ...]  # symlinks along the manifest paths (a flip of one is a change)
    identities: tuple[Identity, ...]  # a replaced path or link changes these
    missing: tuple[Path, ...] = ()  # manifest paths that do not exist (watched through a parent)

    @property
    def roots(self) -> tuple[Path, ...]:
        return self.trees + self.folders

    @property
    def names(self) -> tuple[Path, ...]:
        """Paths whose own events matter: the targets and the links."""
        return self.targets + self.links

    def replaced(self, changed: Path) -> bool:
        """Whether an event names a manifest path or a link itself: it may have been replaced
        by a new inode with the same number (a freed inode is soon reused), which no identity
        comparison can tell."""
        return changed in self.targets or changed in self.links

    def relevant(self, changed: Path) -> bool:
        """Whether an event path is a manifest change (the OS may report it through a link)."""
        return any(changed == t or t in changed.parents for t in self.names)


@dataclass(frozen=True, slots=True)
class Layout:
    """The replica's one watch set: every account's roots, nested ones folded into their outer
    tree, with the identity of each root (a root replaced under its name needs a new watch)."""

    trees: tuple[Path, ...]
    folders: tuple[Path, ...]
    identities: tuple[Identity, ...]

    @property
    def roots(self) -> tuple[Path, ...]:
        return self.trees + self.folders

    def covers(self, other: Layout) -> bool:
        """Whether a watch attached to this layout also hears everything ``other`` needs: each
        of its trees is one of ours or inside one, each of its folders is watched or inside a
        tree, and no root we share was replaced since (a watch follows the old inode)."""
        ours = {path: (device, inode) for path, device, inode in self.identities}
        trees = set(self.trees)
        theirs = set(other.trees)
        for path, device, inode in other.identities:
            root = Path(path)
            inside = _under(root, trees)
            if path not in ours:
                if not inside:
                    return False
                continue
            if ours[path] != (device, inode):
                return False
            if root in theirs and root not in trees and not inside:
                return False  # watched, but not recursively
        return True


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (a watch needs something to attach to)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _identity(path: Path) -> Identity:
    try:
        stat = path.lstat()
    except OSError:
        return (str(path), 0, 0)
    return (str(path), stat.st_dev, stat.st_ino)


def _under(path: Path, trees: set[Path]) -> bool:
    """Whether ``path`` is inside one of ``trees`` (a set: a thousand accounts' roots are looked
    up by each ancestor, not compared pairwise)."""
    return any(parent in trees for parent in path.parents)


def _fold(trees: Iterable[Path], folders: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Trees not inside another tree, and folders not inside any tree (those are covered)."""
    unique = set(trees)
    outer = sorted(t for t in unique if not _under(t, unique))
    kept = set(outer)
    flat = sorted({f for f in folders if f not in kept and not _under(f, kept)})
    return outer, flat


def plan_watch(paths: Sequence[Path]) -> WatchPlan:
    """Resolve ``paths`` into what to watch, the resolved targets, the links, and identities."""
    targets: list[Path] = []
    links: list[Path] = []
    trees: list[Path] = []
    folders: list[Path] = []
    missing: list[Path] = []
    for raw in paths:
        path = Path(raw).absolute()
        for candidate in (path, *path.parents):
            if candidate.is_symlink():
                links.append(candidate)
                folders.append(_existing(candidate.parent.resolve()))
        target = path.resolve()
        targets.append(target)
        folders.append(_existing(target.parent))
        if target.is_dir():
            trees.append(target)
        elif not target.exists():
            folders.append(_existing(target))
            missing.append(path)
    # Every folder between a link and what it finally resolves to (a ConfigMap's ``..data``
    # link sits beside the link the path names) is covered by watching the link's folder.
    outer, flat = _fold(trees, folders)
    seen = dict.fromkeys(targets)
    unique_links = dict.fromkeys(links)
    identities = tuple(_identity(p) for p in (*seen, *unique_links))
    resolved = tuple(_identity(Path(os.path.realpath(link))) for link in unique_links)
    return WatchPlan(
        tuple(outer),
        tuple(flat),
        tuple(seen),
        tuple(unique_links),
        identities + resolved,
        tuple(missing),
    )


def combine(plans: Iterable[WatchPlan]) -> Layout:
    """One watch set for every plan (accounts often share a root or sit in one root's
    sub-folders: a root inside a watched tree is not watched again)."""
    trees: list[Path] = []
    folders: list[Path] = []
    for plan in plans:
        trees += plan.trees
        folders += plan.folders
    outer, flat = _fold(trees, folders)
    return Layout(tuple(outer), tuple(flat), tuple(_identity(r) for r in (*outer, *flat)))
