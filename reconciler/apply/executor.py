"""The executor: one account's writes, one call at a time, with an outcome per object.

The order is the plan's: groups first (contacts refer to them), then contact creates and
updates, deletes last. Everything for one account goes through one executor, one call at a
time (Google asks for sequential mutations per user); batches are cut at the API's limits.
Each phase has its module (:mod:`~reconciler.apply.group_writes`, :mod:`~reconciler.apply.creates`,
:mod:`~reconciler.apply.updates`, :mod:`~reconciler.apply.deletes`); this one holds what they
share: the gateway they write through, the retry of whole calls, the re-read of contacts, the
record of outcomes, and what our own writes answered (fresher than any read, which may lag).

Retries wait with the client's full-jitter backoff (:class:`reconciler.people.retry.RetryPolicy`)
drawn from ``rng``: pass a seeded :class:`random.Random` for reproducible waits.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

import structlog

from reconciler.apply.journal import CreateJournal
from reconciler.apply.ops import ContactOp
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome
from reconciler.model.inputs import Person
from reconciler.people.errors import (
    PeopleError,
    RateLimited,
    ServerError,
    TransportError,
    UnknownOutcome,
)
from reconciler.people.retry import RetryPolicy

log = structlog.get_logger("reconciler.apply")

T = TypeVar("T")
ItemResult = Person | PeopleError

# The API's limits (docs/people-api.md).
MAX_CREATE = 200
MAX_UPDATE = 200
MAX_GET = 200
MAX_DELETE = 500


class NotApplied(PeopleError):
    """Not written because another item of the same all-or-nothing batch failed: send again."""


# Failures after which a create may or may not have happened.
MAYBE_CREATED = (UnknownOutcome, ServerError, TransportError)


class Gateway(Protocol):
    """What the executor needs from the People client (see :mod:`reconciler.apply.gateway`)."""

    async def batch_get(self, names: Sequence[str]) -> dict[str, ItemResult]: ...

    async def batch_create(self, bodies: Sequence[Person]) -> list[ItemResult]: ...

    async def batch_update(
        self, bodies: Mapping[str, Person], mask: Sequence[str]
    ) -> dict[str, ItemResult]: ...

    async def batch_delete(self, names: Sequence[str]) -> dict[str, PeopleError | None]: ...

    async def changed_since_listing(self) -> dict[str, Person] | None: ...

    async def list_groups(self) -> list[Person]: ...

    async def create_group(self, body: Person) -> Person: ...

    async def update_group(
        self, resource_name: str, body: Person, mask: Sequence[str]
    ) -> Person: ...

    async def delete_group(self, resource_name: str) -> None: ...


# Given fresh copies of contacts (manifest name -> person), the planner's verdict for each:
# the update to send now, or None when the fresh copy needs nothing.
Replanner = Callable[[Mapping[str, Person]], Mapping[str, ContactOp | None]]


@dataclass(frozen=True)
class ExecutorSettings:
    """Retry and pacing knobs. ``settle`` is how long a listing may lag a create."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 8.0
    settle: float = 30.0

    @property
    def retry(self) -> RetryPolicy:
        """The backoff between attempts, as the client computes its own."""
        return RetryPolicy(
            max_attempts=self.max_attempts, base_delay=self.base_delay, max_delay=self.max_delay
        )


def chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _transient(error: PeopleError) -> bool:
    return isinstance(error, RateLimited | ServerError | TransportError)


@dataclass
class Executor:
    """Runs the writes of one account, recording an outcome per object in ``result``."""

    gateway: Gateway
    journal: CreateJournal
    result: ApplyResult
    owner: str
    replan: Replanner | None  # None: a conflict is final (a saved plan is applied as it was)
    settings: ExecutorSettings = field(default_factory=ExecutorSettings)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.time
    progress: Callable[[int], None] | None = None
    # What our own writes answered with: resource name -> person. Fresher than any read.
    written: dict[str, Person] = field(default_factory=dict)
    synced: bool = False  # the one incremental sync after a first conflict was spent

    def backoff(self, attempt: int, error: PeopleError | None = None) -> float:
        """The wait before retry number ``attempt`` (0-based): full jitter, and never less
        than the Retry-After of a 429."""
        policy = self.settings.retry
        if error is None:
            return self.rng.uniform(0.0, policy.cap(attempt))
        return policy.delay(attempt, error, self.rng)

    def retry_at(self, attempt: int) -> datetime:
        return datetime.fromtimestamp(self.clock() + self.settings.retry.cap(attempt), UTC)

    def record(self, kind: str, key: str, outcome: Outcome, **extra: Any) -> None:
        self.result.record(ObjectResult(kind, key, outcome, **extra))
        if self.progress is not None and outcome.converged:
            self.progress(1)

    def record_contact(
        self, op: ContactOp, outcome: Outcome, reason: str = "", *, retry: bool = False
    ) -> None:
        """Record ``op``'s outcome; ``retry``: worth another attempt after the first backoff."""
        self.record(
            "contact",
            op.key,
            outcome,
            reason=reason,
            resource_name=op.resource_name,
            retry_at=self.retry_at(1) if retry else None,
        )

    async def call(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """A whole-batch call, retried on transient failures (after the client's own retries)."""
        attempt = 0
        while True:
            try:
                return await call()
            except PeopleError as error:
                if not _transient(error) or attempt + 1 >= self.settings.max_attempts:
                    raise
                wait = self.backoff(attempt, error)
                log.info("apply.retry", call=what, error=type(error).__name__, wait=round(wait, 3))
                await self.sleep(wait)
                attempt += 1

    async def reread(self, ops: Sequence[ContactOp]) -> list[tuple[ContactOp, ItemResult | None]]:
        """Fresh copies of the ops' contacts, 200 to a getBatchGet; each op with the server's
        answer for it (a person or an error; a batch that failed answers its error for all)."""
        answers: list[tuple[ContactOp, ItemResult | None]] = []
        for batch in chunked(ops, MAX_GET):
            names = [op.resource_name or "" for op in batch]
            try:
                got = await self.call(partial(self.gateway.batch_get, names), what="batchGet")
            except PeopleError as error:
                got = dict.fromkeys(names, error)
            answers += [(op, got.get(op.resource_name or "")) for op in batch]
        return answers
