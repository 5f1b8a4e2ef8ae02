"""The executor: one account's writes, one call at a time, with an outcome per object.

It executes the plan's batches as they were cut (:mod:`reconciler.plan.batching`): groups first
(contacts refer to them), then contact creates and updates, deletes last, one call per batch
(Google asks for sequential mutations per user). Each phase has its module
(:mod:`~reconciler.apply.group_writes`, :mod:`~reconciler.apply.creates`,
:mod:`~reconciler.apply.updates`, :mod:`~reconciler.apply.deletes`); this one holds what they
share: the gateway they write through, the re-read of contacts, the record of outcomes, and what
our own writes answered (fresher than any read, which may lag).

Retries have one owner below and one above. The transport tries a failed request again a
bounded number of times (:mod:`reconciler.people.retry`); what still fails becomes an outcome
here, with a next-attempt time, and never loops: the controller's work queue or a one-shot
apply's bounded rounds (:mod:`reconciler.apply.engine`) come back to it. The only loop
inside a batch is the etag-conflict re-merge, which needs fresh data rather than another try.
Waits are full jitter drawn from ``rng``: pass a seeded :class:`random.Random` to repeat them.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import structlog

from reconciler.apply.journal import CreateJournal
from reconciler.apply.ops import ContactOp
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome
from reconciler.clock import Clock, SystemClock
from reconciler.model.inputs import Person
from reconciler.model.limits import MAX_BATCH_GET
from reconciler.people.batching import chunks
from reconciler.people.errors import (
    NotApplied,
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

__all__ = [
    "MAYBE_CREATED",
    "Executor",
    "ExecutorSettings",
    "Gateway",
    "ItemResult",
    "NotApplied",
    "Person",
    "Replanner",
]

# Failures after which a create may or may not have happened.
MAYBE_CREATED = (UnknownOutcome, ServerError, TransportError)


class Gateway(Protocol):
    """What the executor needs from the People client (see :mod:`reconciler.apply.gateway`)."""

    async def batch_get(self, names: Sequence[str]) -> dict[str, ItemResult]: ...

    async def batch_create(
        self,
        bodies: Sequence[Person],
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> list[ItemResult]: ...

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
Replanner = Callable[[Mapping[str, Person]], Awaitable[Mapping[str, ContactOp | None]]]


@dataclass(frozen=True)
class ExecutorSettings:
    """``max_attempts``: sends of one batch while some of its contacts are in etag conflict
    (each after a re-read and a re-merge); ``base_delay`` and ``max_delay`` bound the jittered
    waits between those sends and the next-attempt times of failed items; ``settle`` is how long
    a listing may lag a create."""

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


def retry_later(error: PeopleError) -> bool:
    """Whether a failed item is worth another attempt later (the transport gave up on it)."""
    return error.retryable or isinstance(error, NotApplied)


@dataclass
class Executor:
    """Runs the writes of one account, recording an outcome per object in ``result``.

    ``round`` counts the rounds of a one-shot apply before this one (0 for the first,
    and always for a controller pass): the next-attempt time of a failed item grows with it.
    """

    gateway: Gateway
    journal: CreateJournal
    result: ApplyResult
    owner: str
    replan: Replanner | None  # None: a conflict is final (a saved plan is applied as it was)
    settings: ExecutorSettings = field(default_factory=ExecutorSettings)
    rng: random.Random = field(default_factory=random.Random)
    clock: Clock = field(default_factory=SystemClock)  # retry times; a conflict's backoff
    progress: Callable[[int], None] | None = None
    # What our own writes answered with: resource name -> person. Fresher than any read.
    written: MutableMapping[str, Person] = field(default_factory=dict)
    # The copies the plan (or a re-plan) saw: resource name -> person, the base of an update.
    live: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    synced: bool = False  # the one incremental sync after a first conflict was spent
    round: int = 0
    # Updates of batches not sent yet: resource name -> manifest name (for that sync to find).
    upcoming: dict[str, str] = field(default_factory=dict)
    # Updates re-merged by that sync before their batch was sent: key -> op (None: no change).
    remerged: dict[str, ContactOp | None] = field(default_factory=dict)

    def backoff(self, attempt: int) -> float:
        """The wait before conflict re-send number ``attempt`` (0-based): full jitter."""
        return self.rng.uniform(0.0, self.settings.retry.cap(attempt))

    def retry_at(self, error: PeopleError | None = None) -> datetime:
        """When a failed item is worth another attempt: after this round's backoff cap, and
        never before a 429's Retry-After."""
        wait = self.settings.retry.cap(self.round)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return datetime.fromtimestamp(self.clock.now(), UTC) + timedelta(seconds=wait)

    def record(self, kind: str, key: str, outcome: Outcome, **extra: Any) -> None:
        self.result.record(ObjectResult(kind, key, outcome, **extra))
        if self.progress is not None and outcome.converged:
            self.progress(1)

    def record_contact(
        self, op: ContactOp, outcome: Outcome, reason: str = "", *, retry: bool = False
    ) -> None:
        """Record ``op``'s outcome; ``retry``: worth another attempt later."""
        self.record(
            "contact",
            op.key,
            outcome,
            reason=reason,
            resource_name=op.resource_name,
            retry_at=self.retry_at() if retry else None,
        )

    def record_failure(self, kind: str, key: str, error: PeopleError, **extra: Any) -> None:
        """A failed item: with a next-attempt time when trying again later can help."""
        retry_at = self.retry_at(error) if retry_later(error) else None
        self.record(kind, key, Outcome.FAILED, reason=str(error), retry_at=retry_at, **extra)

    async def send(
        self, keys: Sequence[str], call: Callable[[list[str]], Awaitable[Mapping[str, T]]]
    ) -> dict[str, T | PeopleError]:
        """One batch call for ``keys``; the items the server did not apply only because another
        item of the call was refused are sent again without it (each follow-up is smaller, so
        this ends). A failed call answers its error for every key."""
        answers: dict[str, T | PeopleError] = {}
        todo = list(keys)
        while todo:
            try:
                got: Mapping[str, T | PeopleError] = await call(todo)
            except PeopleError as error:
                got = dict.fromkeys(todo, error)
            again = [key for key in todo if isinstance(got.get(key), NotApplied)]
            answers.update({key: got[key] for key in todo if key in got and key not in again})
            if len(again) == len(todo):
                answers.update({key: got[key] for key in again})
                break
            todo = again
        return answers

    async def reread(self, ops: Sequence[ContactOp]) -> list[tuple[ContactOp, ItemResult | None]]:
        """Fresh copies of the ops' contacts, 200 to a getBatchGet; each op with the server's
        answer for it (a person or an error; a call that failed answers its error for all)."""
        answers: list[tuple[ContactOp, ItemResult | None]] = []
        for batch in chunks(ops, MAX_BATCH_GET):
            names = [op.resource_name or "" for op in batch]
            try:
                got = await self.gateway.batch_get(names)
            except PeopleError as error:
                got = dict.fromkeys(names, error)
            answers += [(op, got.get(op.resource_name or "")) for op in batch]
        return answers
