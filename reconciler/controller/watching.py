"""Watching the manifests on disk, so an edit converges in seconds rather than at the next resync.

In a cluster the manifests are a git checkout kept fresh by a sidecar such as git-sync, which
checks each revision out into a new worktree and then atomically flips a symlink (``current``)
to it. Three things follow:

- The flip is the change, and it arrives as a burst (new worktree, link replaced, old worktree
  removed). A trailing debounce turns any burst into one reload: we fire once the tree has been
  quiet for ``debounce`` seconds (or ``max_wait`` after the first event, so a tree that never
  settles is still picked up).
- A watch on the old worktree dies with it, so we watch the folder that holds each symlink and
  re-resolve the link after every event; when the target moved, we start watching the new one.
- Only events under the resolved manifest folders (or on the links themselves) count; git's own
  churn in the sidecar's other folders is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
import watchfiles

__all__ = ["ManifestWatcher", "WatchPlan", "plan_watch"]

_log = structlog.get_logger(__name__)

RETRY_BASE = 1.0  # seconds before a failed watch is set up again, doubling up to RETRY_CAP
RETRY_CAP = 60.0


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """What to hand the OS watcher, and how to tell relevant events from noise."""

    roots: tuple[Path, ...]  # folders watched recursively
    targets: tuple[Path, ...]  # the manifest paths with every symlink resolved
    links: tuple[Path, ...]  # symlinks along the manifest paths (a flip of one is a change)

    def relevant(self, changed: Path) -> bool:
        """Whether an event path is a manifest change (the OS may report it through a link)."""
        return any(changed == t or t in changed.parents for t in (*self.targets, *self.links))


def _existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (a watch needs something to attach to)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def plan_watch(paths: Sequence[Path]) -> WatchPlan:
    """Resolve ``paths`` into folders to watch, resolved targets and the symlinks between."""
    targets: list[Path] = []
    links: list[Path] = []
    roots: list[Path] = []
    for raw in paths:
        path = Path(raw).absolute()
        for candidate in (path, *path.parents):
            if candidate.is_symlink():
                links.append(candidate)
                roots.append(_existing(candidate.parent.resolve()))
        target = path.resolve()
        targets.append(target)
        roots.append(_existing(target))
    unique = sorted(set(roots))
    outermost = [r for r in unique if not any(o != r and o in r.parents for o in unique)]
    return WatchPlan(tuple(outermost), tuple(dict.fromkeys(targets)), tuple(dict.fromkeys(links)))


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

    async def run(self) -> None:
        """Watch until cancelled. A watch the OS refuses or drops (out of inotify instances, a
        folder gone) is logged and set up again after a pause, with a reload in case a change
        went unseen meanwhile: a dead watcher would otherwise leave edits to the next resync."""
        debouncer = asyncio.create_task(self._debounce())
        failures = 0
        try:
            while True:
                plan = plan_watch(self.paths)
                try:
                    await self._watch(plan)
                    failures = 0
                except (OSError, RuntimeError) as error:
                    failures += 1
                    pause = min(RETRY_CAP, RETRY_BASE * 2 ** (failures - 1))
                    _log.warning("watch failed", error=f"{type(error).__name__}: {error}",
                                 retry_in=pause)  # fmt: skip
                    await asyncio.sleep(pause)
                    self._dirty.set()
        finally:
            debouncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await debouncer

    async def _watch(self, plan: WatchPlan) -> None:
        """Feed relevant events to the debouncer until a symlink along the paths moves."""
        _log.debug("watching manifests", roots=[str(r) for r in plan.roots])
        stream = watchfiles.awatch(*plan.roots, watch_filter=None, step=50, recursive=True)
        async with contextlib.aclosing(stream) as changes:
            async for batch in changes:
                changed = [Path(p) for _, p in batch]
                if any(plan.relevant(p) for p in changed):
                    self._dirty.set()
                if plan_watch(self.paths) != plan:
                    self._dirty.set()
                    return  # a link flipped or a folder appeared: watch the new layout

    async def _debounce(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
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
