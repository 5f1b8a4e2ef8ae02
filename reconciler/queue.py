"""A deduplicating work queue with per-key backoff, modelled on client-go's workqueue.

The queue carries keys, never events: whoever processes a key re-reads desired and live state,
so coalescing ten changes to one contact into one pass loses nothing. Three sets keep the
guarantees the controller relies on:

* ``dirty``: keys that need a pass. A key already dirty is not queued again.
* ``processing``: keys a worker holds right now. A key is never handed out twice at once; one
  added while in flight stays dirty and is handed out again after :meth:`WorkQueue.done`.
* ``ready``: dirty keys not in flight, in arrival order.

Delayed adds (retries, conflicts with a next-attempt time) wait in a heap and become ready when
their time comes; :meth:`WorkQueue.get_batch` sleeps until the earliest of them or the next add,
whichever is first, so no background task is needed. Time comes from an injectable
:class:`~reconciler.clock.Clock` so tests can move it by hand. The getter sleeps until a due
*time*: the length of its sleep is measured when the sleep starts, a loop turn after the getter
decided to sleep, so time that passes in between (other tasks ran; a test moved the clock)
never postpones a key.

Batches: the People API wants one writer per account and rewards batch calls, so a worker takes
every ready key at once (:meth:`WorkQueue.get_batch`) and reconciles them in one pass. A burst of
500 changed contacts becomes one pass of a few batch calls, not 500 reconciles.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Hashable, Iterable
from typing import Generic, Protocol, TypeVar

from reconciler.clock import Clock, SystemClock

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)


class RateLimiter(Protocol[K_contra]):
    """Decides how long a failing key waits before its next attempt."""

    def when(self, key: K_contra) -> float:
        """Record one more failure of ``key`` and return the delay before its next attempt."""
        ...

    def forget(self, key: K_contra) -> None:
        """Clear the failure history of ``key`` (it succeeded)."""
        ...

    def num_requeues(self, key: K_contra) -> int:
        """How many failures of ``key`` are on record."""
        ...


class ExponentialBackoff(Generic[K]):
    """``base * 2**failures`` seconds per key, capped; :meth:`forget` resets a key."""

    def __init__(self, base: float = 1.0, cap: float = 300.0) -> None:
        if base <= 0:
            raise ValueError(f'"base" must be greater than 0: {base}')
        if cap < base:
            raise ValueError(f'"cap" must be at least "base" ({base}): {cap}')
        self.base = base
        self.cap = cap
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        if failures >= 63:  # 2**63 seconds is past any cap; avoid building huge floats
            return self.cap
        return min(self.cap, self.base * 2.0**failures)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)


class WorkQueue(Generic[K]):
    """Deduplicating, batch-draining, delay-aware queue of keys. See the module docstring."""

    def __init__(
        self, *, limiter: RateLimiter[K] | None = None, clock: Clock | None = None
    ) -> None:
        self.limiter: RateLimiter[K] = limiter if limiter is not None else ExponentialBackoff()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._ready: dict[K, None] = {}  # an ordered set
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._delayed: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}  # the earliest pending delayed add per key
        self._sequence = itertools.count()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._shutting_down = False

    # -- adding ------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Mark ``key`` as needing a pass; a no-op if it already does or the queue is shut down."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._ready[key] = None
            self._wakeup.set()

    def add_many(self, keys: Iterable[K]) -> None:
        """:meth:`add` each key."""
        for key in keys:
            self.add(key)

    def add_after(self, key: K, delay: float) -> None:
        """Add ``key`` once ``delay`` seconds have passed; an earlier pending add wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        due = self.clock.now() + delay
        pending = self._due.get(key)
        if pending is not None and pending <= due:
            return
        self._due[key] = due
        heapq.heappush(self._delayed, (due, next(self._sequence), key))
        self._wakeup.set()  # a sleeping getter must recompute how long to sleep

    def add_rate_limited(self, key: K) -> float:
        """Add ``key`` after its backoff delay (one more failure on record); return the delay."""
        delay = self.limiter.when(key)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset the backoff of ``key`` (it succeeded). Does not remove a pending add."""
        self.limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """How many failures of ``key`` the limiter has on record."""
        return self.limiter.num_requeues(key)

    # -- taking ------------------------------------------------------------------------------

    async def get_batch(self, max_items: int | None = None) -> list[K]:
        """Wait for ready keys and take all of them (at most ``max_items``) into processing.

        Returns an empty list once the queue is shut down, even if keys are still ready: a
        shutting-down controller stops taking work.
        """
        while True:
            if self._shutting_down:
                return []
            self._promote_due()
            if self._ready:
                return self._take(max_items)
            self._wakeup.clear()
            await self._wait_for_wakeup(self._earliest_due())

    async def get(self) -> K | None:
        """Take one ready key, or ``None`` once the queue is shut down."""
        batch = await self.get_batch(1)
        return batch[0] if batch else None

    def done(self, keys: Iterable[K]) -> None:
        """Release keys a worker finished; those added meanwhile become ready again."""
        for key in keys:
            self._processing.discard(key)
            if key in self._dirty:
                self._ready[key] = None
                self._wakeup.set()
        if not self._processing:
            self._idle.set()

    # -- lifecycle ---------------------------------------------------------------------------

    def shut_down(self) -> None:
        """Stop handing out work and ignore later adds; waiting getters return ``[]``."""
        self._shutting_down = True
        self._wakeup.set()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    async def wait_idle(self) -> None:
        """Return once no key is being processed (the in-flight batch is finished)."""
        await self._idle.wait()

    # -- introspection -----------------------------------------------------------------------

    def __len__(self) -> int:
        """Keys ready to be handed out (the queue depth)."""
        return len(self._ready)

    @property
    def delayed(self) -> int:
        """Keys waiting for a delayed add to come due."""
        return len(self._due)

    def next_due(self) -> float | None:
        """Seconds until a key is ready (0: one is now); None when nothing is queued."""
        if self._ready:
            return 0.0
        return self._seconds_to_next_due()

    @property
    def processing(self) -> frozenset[K]:
        return frozenset(self._processing)

    # -- internals ---------------------------------------------------------------------------

    def _take(self, max_items: int | None) -> list[K]:
        count = len(self._ready) if max_items is None else min(max_items, len(self._ready))
        batch = list(itertools.islice(self._ready, count))
        for key in batch:
            del self._ready[key]
            self._dirty.discard(key)
            self._processing.add(key)
        if batch:
            self._idle.clear()
        return batch

    def _promote_due(self) -> None:
        now = self.clock.now()
        while self._delayed and self._delayed[0][0] <= now:
            due, _, key = heapq.heappop(self._delayed)
            if self._due.get(key) == due:  # otherwise superseded by an earlier add_after
                del self._due[key]
                self.add(key)

    def _earliest_due(self) -> float | None:
        """The clock time the first delayed key comes due; None when none waits."""
        while self._delayed and self._due.get(self._delayed[0][2]) != self._delayed[0][0]:
            heapq.heappop(self._delayed)  # drop superseded entries
        return self._delayed[0][0] if self._delayed else None

    def _seconds_to_next_due(self) -> float | None:
        due = self._earliest_due()
        return None if due is None else max(0.0, due - self.clock.now())

    async def _sleep_until(self, due: float) -> None:
        # Measured now, as the sleep starts: the getter decided to sleep a loop turn earlier.
        await self.clock.sleep(max(0.0, due - self.clock.now()))

    async def _wait_for_wakeup(self, due: float | None) -> None:
        """Sleep until an add wakes us or the clock reaches ``due``."""
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._wakeup.wait())}
        if due is not None:
            waiters.add(asyncio.ensure_future(self._sleep_until(due)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
