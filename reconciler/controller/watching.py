"""One watch over the manifests of every account of a replica, so an edit converges in seconds.

Each account used to run a watcher of its own, two inotify instances each; the kernel allows
128 instances per user by default, so past ~64 accounts new watchers failed and those accounts
only saw edits at the next resync. Now a replica runs one :class:`ReplicaWatcher`: accounts
register their manifest paths (and unregister them, so the set of accounts may change while
running), the watcher attaches one watch set to the union of their roots (two instances for the
whole replica, see :mod:`reconciler.controller.watchplan`) and dispatches each event to the
accounts whose manifests it touches. Accounts may share a root or sit in sub-folders of one.

- Only events on an account's manifest paths, under them, or on the links to them count for it;
  the rest of a busy parent (git's own churn, siblings) is ignored.
- After events that name a manifest path or a link, and after a few quiet seconds, every
  account's plan is recomputed (on a thread of its own: stat-ing a thousand accounts' paths
  must not stall the event loop); an account whose paths moved gets a reload, and when a watched
  root itself was replaced the watch set is re-attached.
- An account is heard only from the moment a watch covering its paths is attached, but it may
  have read its manifests before that (or registered with its first pass still to come): a
  change in between reaches no watch. So when the watch first hears an account, the account's
  manifests on disk are compared (by :func:`~reconciler.manifest.signature`, stat calls only)
  with what it last read, or, if it has read nothing yet, with what was there when it
  registered; a difference counts as a change (a reload, which also promotes a first pass
  still waiting).
- Events come in bursts (a git-sync flip is several), so per account a trailing debounce turns
  a burst into one reload: once its paths have been quiet for ``debounce`` seconds, or
  ``max_wait`` after the first event for a tree that never settles.
- When inotify cannot be set up or dies (the instance or watch limit, a kernel without it), the
  failure is loud: an error log line naming the sysctl to raise, ``observe`` is told (the
  controller turns it into a metric, a readiness reason and the status), and the paths are
  polled instead so edits are still applied; inotify is tried again after 5 s, then after
  twice as long each time, up to every ``retry`` seconds (a full instance table is often
  someone else's passing burst).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
import watchfiles

from reconciler.controller.desired import manifests_signature
from reconciler.controller.watchplan import Layout, WatchPlan, combine, plan_watch

__all__ = ["ReplicaWatcher", "StreamFactory", "WatchState", "watchfiles_stream"]

_log = structlog.get_logger("reconciler.controller.watching")

RECHECK = 2.0
"""Seconds of quiet after which the layout is compared anyway: a replacement made between
planning a watch and the OS attaching it sends no event to anyone."""

POLL_DELAY_MS = 1000
"""How often the paths are polled when the OS will not give us an inotify watch."""

HANDOVER = 2.0
"""Seconds a replaced watch set stays open beside its successor, to deliver what it heard (an
OS watch holds events for a moment to batch them; a poll looks every ``POLL_DELAY_MS``)."""

ATTACH_TRIES = 5
"""Attempts to attach a watch set right after closing the previous one."""

INOTIFY_RETRY = 60.0
"""At most this many seconds between attempts to go back from polling to inotify (someone may
raise the limit, or free instances)."""

FIRST_RETRY = 5.0
"""Seconds before the first attempt to go back to inotify; each failure doubles it."""

HINT = (
    "raise the kernel's limits, e.g. sysctl -w fs.inotify.max_user_instances=512 "
    "fs.inotify.max_user_watches=524288 (on Kubernetes, on the node or through a privileged "
    "init container); until then the manifests are polled every "
    f"{POLL_DELAY_MS / 1000:g}s"
)

Changes = set[tuple[watchfiles.Change, str]]
StreamFactory = Callable[[tuple[Path, ...], bool, asyncio.Event, bool], AsyncIterator[Changes]]
"""``(roots, recursive, stop, polling) -> batches of changes`` until ``stop`` is set; raises
OSError or RuntimeError when the OS refuses the watch."""


def watchfiles_stream(
    roots: tuple[Path, ...], recursive: bool, stop: asyncio.Event, polling: bool
) -> AsyncIterator[Changes]:
    """The OS watch (inotify on Linux), or polling every ``POLL_DELAY_MS`` when ``polling``."""
    return watchfiles.awatch(
        *roots,
        watch_filter=None,
        step=50,
        recursive=recursive,
        stop_event=stop,
        force_polling=polling,
        poll_delay_ms=POLL_DELAY_MS,
    )


@dataclass(frozen=True, slots=True)
class WatchState:
    """How the manifests are watched: ``up`` with inotify, else polled, ``reason`` says why."""

    up: bool
    reason: str = ""


@dataclass
class _Member:
    paths: tuple[Path, ...]
    on_change: Callable[[], None]
    seen: Callable[[], bytes | None] | None = None  # the signature of what it last read
    plan: WatchPlan | None = None
    registered: bytes | None = None  # the signature of its manifests when first planned
    heard: bool = False  # an attached watch covers its paths and was compared with the disk
    expected: bool = False  # the account has not started: changes are held for it
    held: bool = False  # a change came while it was expected


@dataclass
class _Burst:
    first: float
    last: float
    task: asyncio.Task[None] | None = None


@dataclass
class _WatchSet:
    """The streams attached to one layout."""

    layout: Layout
    polling: bool
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    pumps: list[asyncio.Task[None]] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    async def close(self) -> None:
        self.stop.set()
        for pump in self.pumps:
            pump.cancel()
        await asyncio.gather(*self.pumps, return_exceptions=True)


async def _closed(watch: _WatchSet | None) -> _WatchSet | None:
    """Close ``watch`` if there is one; always None, for ``current = await _closed(current)``."""
    if watch is not None:
        await watch.close()
    return None


class _Reattach(Exception):
    """The watch set must be attached anew (a root was replaced, or the roots changed)."""


class ReplicaWatcher:
    """Calls each registered account's ``on_change`` once per settled burst of its changes."""

    def __init__(
        self,
        *,
        debounce: float,
        max_wait: float | None = None,
        streams: StreamFactory = watchfiles_stream,
        observe: Callable[[WatchState], None] | None = None,
        retry: float = INOTIFY_RETRY,
    ) -> None:
        self.debounce = max(0.0, debounce)
        self.max_wait = max_wait if max_wait is not None else max(5 * self.debounce, 1.0)
        self.streams = streams
        self.observe = observe
        self.retry = retry
        self._backoff = min(FIRST_RETRY, retry)  # before the next attempt to use inotify
        self.state: WatchState | None = None  # None until the first watch is attached
        self._members: dict[str, _Member] = {}
        self._owners: dict[Path, set[str]] = {}  # a target or link -> accounts it belongs to
        self._bursts: dict[str, _Burst] = {}
        self._membership = asyncio.Event()  # an account was registered or unregistered
        self._layout: Layout | None = None
        self._polling_until = 0.0  # loop time until which the paths are polled
        self._planner: concurrent.futures.ThreadPoolExecutor | None = None
        self._retiring: asyncio.Task[None] | None = None  # a replaced watch set, closing soon
        self._gap = False  # for a while nothing was attached: reload every account once
        self._gap_after = 0.0  # loop time from which the current watch sees every change
        self._covering = False  # comparing the accounts the watch now hears with the disk

    # -- accounts ----------------------------------------------------------------------------

    def register(
        self,
        key: str,
        paths: Sequence[Path],
        on_change: Callable[[], None],
        seen: Callable[[], bytes | None] | None = None,
    ) -> None:
        """Watch ``paths`` for account ``key`` (replacing what it registered before).

        ``seen`` tells the signature (:func:`~reconciler.manifest.signature`) of the manifests
        as the account last read them, None before its first read: a change made after that
        read and before a watch hears the account still reaches ``on_change``."""
        member = _Member(tuple(paths), on_change, seen)
        before = self._members.get(key)
        held = False
        if before is not None and before.expected and before.paths == member.paths:
            member.plan, member.registered, member.heard = (
                before.plan,
                before.registered,
                before.heard,
            )
            held = before.held
        self._members[key] = member
        self._membership.set()
        if held:
            on_change()

    def expect(
        self, key: str, paths: Sequence[Path], held: Callable[[], None] | None = None
    ) -> None:
        """Watch ``paths`` for account ``key`` before it starts: a change meanwhile is held
        until it :meth:`register`s (with the same paths), so that an edit made while a replica
        opens its accounts (seconds for thousands) goes first like any other; ``held`` is
        told of it at once (the replica opens that account next)."""
        member = _Member(tuple(paths), lambda: None, expected=True)

        def hold() -> None:
            member.held = True
            if held is not None:
                held()

        member.on_change = hold
        self._members[key] = member
        self._membership.set()

    def unregister(self, key: str) -> None:
        """Stop watching for ``key``; a reload it had pending is dropped."""
        if self._members.pop(key, None) is None:
            return
        burst = self._bursts.pop(key, None)
        if burst is not None and burst.task is not None:
            burst.task.cancel()
        self._index()
        self._membership.set()

    @property
    def settled(self) -> bool:
        """No change is waiting to be reloaded (every event seen so far has been handled, no
        account the watch just began to hear is being compared with the disk, and no reload
        of every account is due after a time when nothing was attached)."""
        return not self._bursts and not self._gap and not self._covering

    # -- the watch ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Watch until cancelled."""
        loop = asyncio.get_running_loop()
        self._planner = concurrent.futures.ThreadPoolExecutor(1, "manifest-watch")
        batches: asyncio.Queue[Changes] = asyncio.Queue()  # every watch set feeds this one
        current: _WatchSet | None = None
        try:
            while True:
                self._membership.clear()
                await self._replan(dispatch=current is not None)
                layout = self._layout
                if layout is None or not layout.roots:
                    current = await _closed(current)
                    await self._membership.wait()  # no account (any more)
                    continue
                polling = loop.time() < self._polling_until
                try:
                    # The new set is attached before the old one is closed, so no event falls
                    # between them; if the OS refuses the overlap, the old one goes first.
                    try:
                        fresh = await self._attach(layout, polling, batches)
                    except (OSError, RuntimeError) as error:
                        if current is None:
                            raise
                        if current.polling and not polling and current.layout.covers(layout):
                            self._failed(error, polling)  # still refused: go on polling
                            fresh, current = current, None
                        else:
                            current = await _closed(current)
                            self._gap = True
                            fresh = await self._attach_again(layout, polling, batches)
                    if current is not None:
                        self._retire(current)
                    current = fresh
                    self._attached(current.polling)
                    # a poll takes its first look in its own time, an OS watch at once
                    self._gap_after = loop.time() + (POLL_DELAY_MS / 1000 + 0.5) * current.polling
                    self._refill()
                    await self._cover()
                    await self._follow(current, batches)
                except _Reattach:
                    continue
                except FileNotFoundError as error:  # a root vanished while attaching
                    _log.debug("watch interrupted", error=f"{type(error).__name__}: {error}")
                    current = await _closed(current)
                    self._gap = True
                    await asyncio.sleep(max(self.debounce, 0.05))
                except Exception as error:  # no instance or watch left, or the watch died
                    if not isinstance(error, (OSError, RuntimeError)):
                        _log.exception("the manifests watch failed unexpectedly")
                    current = await _closed(current)
                    self._gap = True
                    self._failed(error, polling)
                    if polling:  # even polling failed: try again in a while
                        await asyncio.sleep(RECHECK)
        finally:
            await _closed(current)
            if self._retiring is not None:
                self._retiring.cancel()
                await asyncio.gather(self._retiring, return_exceptions=True)
            for burst in self._bursts.values():
                if burst.task is not None:
                    burst.task.cancel()
            self._planner.shutdown(wait=False, cancel_futures=True)

    def _retire(self, watch: _WatchSet) -> None:
        """Close ``watch`` once the set that replaces it has been live for ``HANDOVER``: what
        the old one had heard and not yet delivered still arrives (the OS watcher holds events
        for a moment to batch them). One set retires at a time."""
        if self._retiring is not None:
            self._retiring.cancel()

        async def handover() -> None:
            try:
                await asyncio.sleep(HANDOVER)
            finally:
                await watch.close()

        self._retiring = asyncio.get_running_loop().create_task(handover())

    async def _attach_again(
        self, layout: Layout, polling: bool, batches: asyncio.Queue[Changes]
    ) -> _WatchSet:
        """:meth:`_attach` after closing the old set: the OS frees its instances in its own
        time (the watcher's thread closes them), so try a few times."""
        for _ in range(ATTACH_TRIES - 1):
            try:
                return await self._attach(layout, polling, batches)
            except (OSError, RuntimeError):
                await asyncio.sleep(0.1)
        return await self._attach(layout, polling, batches)

    async def _attach(
        self, layout: Layout, polling: bool, batches: asyncio.Queue[Changes]
    ) -> _WatchSet:
        """Start the streams of ``layout``; raise what the OS said if it refused them."""
        _log.debug(
            "watching manifests",
            accounts=len(self._members),
            trees=len(layout.trees),
            folders=len(layout.folders),
            polling=polling,
        )
        watch = _WatchSet(layout, polling)
        watch.pumps = [
            asyncio.create_task(self._pump(roots, recursive, watch, batches))
            for roots, recursive in ((layout.trees, True), (layout.folders, False))
            if roots
        ]
        await asyncio.sleep(0)  # each pump attaches its watch (or fails) before it waits
        if watch.failures:
            await watch.close()
            raise watch.failures[0]
        return watch

    async def _follow(self, watch: _WatchSet, batches: asyncio.Queue[Changes]) -> None:
        """Feed events to the accounts until the watch set must be attached anew."""
        loop = asyncio.get_running_loop()
        layout = watch.layout
        while True:
            membership = asyncio.ensure_future(self._membership.wait())
            getting = asyncio.ensure_future(batches.get())
            done, _ = await asyncio.wait(
                {membership, getting}, timeout=RECHECK, return_when=asyncio.FIRST_COMPLETED
            )
            membership.cancel()
            self._refill()  # a polling watch has taken its first look by now
            batch: Changes = set()
            if getting in done:
                batch = getting.result()
            else:
                getting.cancel()
            if watch.failures:
                raise watch.failures[0]
            changed = [Path(p) for _, p in batch]
            named = self._dispatch(changed, loop.time())
            if self._membership.is_set() or named or not batch:
                self._membership.clear()
                await self._replan(dispatch=True)
                roots = set(layout.roots)
                if any(p in roots for p in changed) or not (
                    self._layout is None or layout.covers(self._layout)
                ):
                    raise _Reattach
            await self._cover()  # accounts registered since, now in the watched layout
            if watch.polling and loop.time() >= self._polling_until:
                raise _Reattach  # time to try inotify again

    async def _pump(
        self,
        roots: tuple[Path, ...],
        recursive: bool,
        watch: _WatchSet,
        batches: asyncio.Queue[Changes],
    ) -> None:
        try:
            stream = self.streams(roots, recursive, watch.stop, watch.polling)
            async with contextlib.aclosing(stream) as changes:  # type: ignore[type-var]
                async for batch in changes:
                    batches.put_nowait(batch)
            if not watch.stop.is_set():  # a stream that ends on its own hears nothing any more
                raise RuntimeError("the watch ended by itself")
        except (OSError, RuntimeError) as error:
            watch.failures.append(error)
            batches.put_nowait(set())  # wake the reader

    # -- plans and dispatch ------------------------------------------------------------------

    async def _replan(self, *, dispatch: bool) -> None:
        """Recompute every account's plan off the loop; accounts whose paths moved reload."""
        members = dict(self._members)
        paths = {key: member.paths for key, member in members.items()}
        fresh = [key for key, member in members.items() if member.registered is None]
        loop = asyncio.get_running_loop()
        plans, layout, signed = await loop.run_in_executor(self._planner, _plan_all, paths, fresh)
        now = loop.time()
        for key, plan in plans.items():
            member = self._members.get(key)
            if member is not members[key]:
                continue  # unregistered or registered anew meanwhile: its next replan counts
            if member.registered is None:
                member.registered = signed[key]
            if dispatch and member.plan is not None and member.plan != plan:
                self._dirty(key, now)
            if plan.missing and (member.plan is None or member.plan.missing != plan.missing):
                _log.warning(
                    "manifests path missing; watching its parent until it is back",
                    account=key,
                    paths=[str(p) for p in plan.missing],
                )
            member.plan = plan
        self._index()
        self._layout = layout  # an account registered meanwhile: the next replan adds it

    def _index(self) -> None:
        owners: dict[Path, set[str]] = {}
        for key, member in self._members.items():
            if member.plan is not None:
                for name in member.plan.names:
                    owners.setdefault(name, set()).add(key)
        self._owners = owners

    def _dispatch(self, changed: list[Path], now: float) -> bool:
        """Start or extend the burst of every account an event touches; return whether an
        event named a manifest path or a link itself (it may have been replaced)."""
        named = False
        for path in changed:
            named = named or path in self._owners
            for candidate in (path, *path.parents):
                for key in self._owners.get(candidate, ()):
                    self._dirty(key, now)
        return named

    async def _cover(self) -> None:
        """Compare the manifests of the accounts the attached watch hears for the first time
        with what each last read (or, having read nothing, what was there when it registered):
        a change made before the watch heard them was heard by nobody, so a difference counts
        as a change."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._gap_after or self._covering:
            return  # a polling watch has not taken its first look yet
        fresh = {k: m for k, m in self._members.items() if not m.heard and m.plan is not None}
        if not fresh:
            return
        self._covering = True
        try:
            for member in fresh.values():
                member.heard = True
            paths = {key: member.paths for key, member in fresh.items()}
            now = await loop.run_in_executor(self._planner, _sign_all, paths)
        finally:
            self._covering = False
        at = loop.time()
        for key, member in fresh.items():
            if self._members.get(key) is not member:
                continue
            known = (member.seen() if member.seen is not None else None) or member.registered
            if known is not None and now[key] != known:
                _log.info("manifests changed before the watch heard them", account=key)
                self._dirty(key, at)

    def _refill(self) -> None:
        """After a time when nothing was attached, reload every account once (when the new
        watch has taken its first look)."""
        if self._gap and asyncio.get_running_loop().time() >= self._gap_after:
            self._gap = False
            self._dirty_all()

    def _dirty_all(self) -> None:
        now = asyncio.get_running_loop().time()
        for key in self._members:
            self._dirty(key, now)

    def _dirty(self, key: str, now: float) -> None:
        burst = self._bursts.get(key)
        if burst is not None:
            burst.last = now
            return
        _log.debug("manifests touched", account=key)
        burst = self._bursts[key] = _Burst(now, now)
        burst.task = asyncio.get_running_loop().create_task(self._settle(key, burst))

    async def _settle(self, key: str, burst: _Burst) -> None:
        """Wait until ``key``'s burst is quiet (or ``max_wait`` old), then reload it once."""
        loop = asyncio.get_running_loop()
        while True:
            quiet_at = burst.last + self.debounce
            now = loop.time()
            if now >= quiet_at or now - burst.first >= self.max_wait:
                break
            await asyncio.sleep(min(quiet_at, burst.first + self.max_wait) - now)
        if self._bursts.get(key) is burst:
            del self._bursts[key]
        member = self._members.get(key)
        if member is None:
            return
        try:
            member.on_change()
        except Exception:  # a failing callback must not stop the watch
            _log.exception("manifest change handler failed", account=key)

    # -- health ------------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Why the replica is not ready on the watch's account (``/readyz``): none while the
        manifests are watched with inotify (or the watch is still starting)."""
        if self.state is None or self.state.up:
            return []
        return [f"manifests watch: {self.state.reason}"]

    def to_json(self) -> dict[str, str]:
        """The watch as ``/status`` shows it: ``mode`` starting, inotify or polling."""
        if self.state is None:
            return {"mode": "starting", "message": ""}
        return {"mode": "inotify" if self.state.up else "polling", "message": self.state.reason}

    def _attached(self, polling: bool) -> None:
        if polling:
            return  # still down: the reason stays as the failure said
        self._backoff = min(FIRST_RETRY, self.retry)
        if self.state is not None and not self.state.up:
            _log.info("watching the manifests with inotify again", accounts=len(self._members))
        self._tell(WatchState(True))

    def _failed(self, error: BaseException, polling: bool) -> None:
        loop = asyncio.get_running_loop()
        self._polling_until = loop.time() + self._backoff
        self._backoff = min(self._backoff * 2, self.retry)
        reason = f"{type(error).__name__}: {error}"
        if polling:
            _log.error("cannot poll the manifests either", error=reason)
        elif self.state is None or self.state.up:
            _log.error(
                "cannot watch the manifests with inotify; polling them instead",
                error=reason,
                accounts=len(self._members),
                hint=HINT,
            )
        self._tell(WatchState(False, f"inotify failed ({reason}); {HINT}"), failed=True)

    def _tell(self, state: WatchState, *, failed: bool = False) -> None:
        """Tell ``observe`` of a change of state, and of every failure (each is counted)."""
        changed = state != self.state
        self.state = state
        if self.observe is not None and (changed or failed):
            self.observe(state)


def _plan_all(
    paths: Mapping[str, tuple[Path, ...]], sign: Sequence[str]
) -> tuple[dict[str, WatchPlan], Layout, dict[str, bytes]]:
    """Every account's plan and the one watch set for all, and the signatures of the accounts
    in ``sign`` (stat calls: off the loop)."""
    plans = {key: plan_watch(list(p)) for key, p in paths.items()}
    return plans, combine(plans.values()), _sign_all({key: paths[key] for key in sign})


def _sign_all(paths: Mapping[str, tuple[Path, ...]]) -> dict[str, bytes]:
    """The signature of each account's manifests as they are now."""
    return {key: manifests_signature(p) for key, p in paths.items()}
