"""Watching the manifests on disk, so an edit converges in seconds rather than at the next resync.

An OS watch (inotify) is attached to an inode, not to a name, and tools replace names all the
time: editors and ``sed -i`` save a file by renaming a new one over it, scripts swap folders
(``mv m m.old && mv m.new m``, ``rm -rf m && cp -r``), the kubelet updates a ConfigMap volume by
renaming its ``..data`` link to a new timestamped folder, and git-sync checks each revision out
into a new worktree and flips its ``current`` link to it. A watch that stays on the old inode
hears nothing ever again. So:

- the watch plan records the identity (device, inode) of every manifest path, resolved, and of
  every link along the way; after each batch of events (and after a few quiet seconds) the plan
  is recomputed, and when any identity moved, or an event names a manifest path or a link
  itself, the watch is re-attached to the new layout (and a reload is queued);
- every manifest path's parent folder is watched too (not recursively), so the replacement
  itself is an event: a file is watched through its folder, never by its own inode;
- only events on the manifest paths, under them, or on the links count; the rest of a busy
  parent (git's own churn, siblings) is ignored;
- events come in bursts (a flip is several), so a trailing debounce turns a burst into one
  reload: fire once the tree has been quiet for ``debounce`` seconds, or ``max_wait`` after the
  first event for a tree that never settles.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
import watchfiles

__all__ = ["ManifestWatcher", "WatchPlan", "plan_watch"]

_log = structlog.get_logger(__name__)

RECHECK = 2.0
"""Seconds of quiet after which the layout is compared anyway: a replacement made between
planning a watch and the OS attaching it sends no event to anyone."""

POLL_DELAY_MS = 1000
"""How often the paths are polled when the OS will not give us another inotify watch (every
account takes two, and the default limit is 128 instances per user)."""

Identity = tuple[str, int, int]  # (path, device, inode); inode 0 when the path is missing


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """What to hand the OS watcher, and how to tell relevant events from noise."""

    trees: tuple[Path, ...]  # folders watched recursively (manifest folders)
    folders: tuple[Path, ...]  # folders watched on their own (parents of paths and links)
    targets: tuple[Path, ...]  # the manifest paths with every symlink resolved
    links: tuple[Path, ...]  # symlinks along the manifest paths (a flip of one is a change)
    identities: tuple[Identity, ...]  # a replaced path or link changes these

    @property
    def roots(self) -> tuple[Path, ...]:
        return self.trees + self.folders

    def replaced(self, changed: Path) -> bool:
        """Whether an event names a manifest path or a link itself: it may have been replaced
        by a new inode with the same number (a freed inode is soon reused), which no identity
        comparison can tell, and the OS watch on the old one is gone."""
        return changed in self.targets or changed in self.links

    def relevant(self, changed: Path) -> bool:
        """Whether an event path is a manifest change (the OS may report it through a link)."""
        return any(changed == t or t in changed.parents for t in (*self.targets, *self.links))


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


def plan_watch(paths: Sequence[Path]) -> WatchPlan:
    """Resolve ``paths`` into what to watch, the resolved targets, the links, and identities."""
    targets: list[Path] = []
    links: list[Path] = []
    trees: list[Path] = []
    folders: list[Path] = []
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
    # Every folder between a link and what it finally resolves to (a ConfigMap's ``..data``
    # link sits beside the link the path names) is covered by watching the link's folder.
    unique_trees = sorted(set(trees))
    outer = [t for t in unique_trees if not any(o != t and o in t.parents for o in unique_trees)]
    flat = sorted({f for f in folders if not any(f == t or t in f.parents for t in outer)})
    seen = dict.fromkeys(targets)
    identities = tuple(_identity(p) for p in (*seen, *dict.fromkeys(links)))
    resolved = tuple(_identity(Path(os.path.realpath(link))) for link in dict.fromkeys(links))
    return WatchPlan(
        tuple(outer),
        tuple(flat),
        tuple(seen),
        tuple(dict.fromkeys(links)),
        identities + resolved,
    )


class ManifestWatcher:
    """Calls ``on_change`` once per settled burst of relevant changes under ``paths``."""

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        debounce: float,
        on_change: Callable[[], None],
        max_wait: float | None = None,
    ) -> None:
        self.paths = tuple(paths)
        self.debounce = max(0.0, debounce)
        self.max_wait = max_wait if max_wait is not None else max(5 * self.debounce, 1.0)
        self.on_change = on_change
        self._dirty = asyncio.Event()
        self._burst = False  # between the first event of a burst and its reload
        self._polling = False  # inotify refused (limits reached): poll the paths instead

    @property
    def settled(self) -> bool:
        """No change is waiting to be reloaded (every event seen so far has been handled)."""
        return not self._dirty.is_set() and not self._burst

    async def run(self) -> None:
        """Watch until cancelled."""
        debouncer = asyncio.create_task(self._debounce())
        try:
            while True:
                plan = plan_watch(self.paths)
                try:
                    await self._watch(plan)
                except FileNotFoundError as error:  # a root vanished while attaching
                    _log.debug("watch interrupted", error=f"{type(error).__name__}: {error}")
                    self._dirty.set()
                    await asyncio.sleep(max(self.debounce, 0.05))
                except (OSError, RuntimeError) as error:  # no inotify instance or watch left
                    if self._polling:  # even polling failed: try again in a while
                        _log.warning("cannot watch the manifests", error=f"{error}")
                        await asyncio.sleep(RECHECK)
                        continue
                    self._polling = True  # nothing changed: poll from now on, no reload
                    _log.warning(
                        "cannot watch the manifests with inotify; polling them instead "
                        "(raise fs.inotify.max_user_instances or max_user_watches)",
                        error=f"{type(error).__name__}: {error}",
                    )
        finally:
            debouncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await debouncer

    async def _watch(self, plan: WatchPlan) -> None:
        """Feed relevant events to the debouncer until the layout under the paths changes."""
        _log.debug(
            "watching manifests",
            trees=[str(r) for r in plan.trees],
            folders=[str(r) for r in plan.folders],
        )
        stop = asyncio.Event()
        batches: asyncio.Queue[set[tuple[watchfiles.Change, str]] | BaseException] = asyncio.Queue()
        streams = [
            (roots, recursive)
            for roots, recursive in ((plan.trees, True), (plan.folders, False))
            if roots
        ]
        pumps = [
            asyncio.create_task(self._pump(roots, recursive, stop, batches, self._polling))
            for roots, recursive in streams
        ]
        try:
            while True:
                try:
                    batch = await asyncio.wait_for(batches.get(), RECHECK)
                except TimeoutError:
                    batch = set()  # quiet: look at the layout anyway (see RECHECK)
                if isinstance(batch, BaseException):
                    raise batch
                changed = [Path(p) for _, p in batch]
                if any(plan.relevant(p) for p in changed):
                    self._dirty.set()
                if any(plan.replaced(p) for p in changed) or plan_watch(self.paths) != plan:
                    self._dirty.set()
                    return  # a path or link was replaced: attach to the new layout
        finally:
            stop.set()
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    @staticmethod
    async def _pump(
        roots: tuple[Path, ...],
        recursive: bool,
        stop: asyncio.Event,
        batches: asyncio.Queue[set[tuple[watchfiles.Change, str]] | BaseException],
        polling: bool,
    ) -> None:
        try:
            stream: AsyncIterator[set[tuple[watchfiles.Change, str]]] = watchfiles.awatch(
                *roots,
                watch_filter=None,
                step=50,
                recursive=recursive,
                stop_event=stop,
                force_polling=polling,
                poll_delay_ms=POLL_DELAY_MS,
            )
            async with contextlib.aclosing(stream) as changes:  # type: ignore[type-var]
                async for batch in changes:
                    batches.put_nowait(batch)
        except (OSError, RuntimeError) as error:
            batches.put_nowait(error)

    async def _debounce(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            self._burst = True
            first = loop.time()
            while True:
                self._dirty.clear()
                await asyncio.sleep(self.debounce)
                if not self._dirty.is_set() or loop.time() - first >= self.max_wait:
                    break
            self._dirty.clear()
            try:
                self.on_change()
            except Exception:  # a failing callback must not stop the watch
                _log.exception("manifest change handler failed")
            finally:
                self._burst = False
