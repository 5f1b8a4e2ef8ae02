"""Executes contact and group writes: batched, etag-guarded, conflict-retrying.

The order is the plan's: groups first (contacts refer to them), then contact creates and
updates, deletes last. Everything for one account goes through one executor, one call at a
time (Google asks for sequential mutations per user); batches are cut at the API's limits.

Etags. Every update carries the freshest etag we know: the one from the listing, or the one
the server answered our own last write with (reads may lag writes, so a re-read can be older
than our own write). On a stale etag only the conflicting contacts are re-read, the three-way
merge is redone on the fresh copy by the planner (``replan``), so an edit someone made outside
our fields survives, and the write is retried after an exponential backoff with full jitter.
A contact still in conflict after ``max_attempts`` is reported with the time of its next
attempt; everything else proceeds.

Creates go through the create journal (see :mod:`reconciler.apply.journal`): an answer that was
lost leaves the contact *pending*, never created a second time.
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
from reconciler.apply.ops import ContactOp, GroupOp, OpKind
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome
from reconciler.people.errors import (
    Conflict,
    NotFound,
    PeopleError,
    RateLimited,
    ServerError,
    StaleEtag,
    TransportError,
    UnknownOutcome,
)

log = structlog.get_logger("reconciler.apply")

T = TypeVar("T")
Person = dict[str, Any]
ItemResult = Person | PeopleError

# The API's limits (people-api.md).
MAX_CREATE = 200
MAX_UPDATE = 200
MAX_GET = 200
MAX_DELETE = 500


class NotApplied(PeopleError):
    """Not written because another item of the same all-or-nothing batch failed: send again."""


# Failures after which a create may or may not have happened.
MAYBE_CREATED = (UnknownOutcome, ServerError, TransportError)

OWNER_KEY = "reconciler.owner"
NAME_KEY = "reconciler.name"


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


def chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stamp_of(person: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(owner, name)`` from a person's clientData stamp."""
    owner = name = None
    for entry in person.get("clientData") or ():
        if entry.get("key") == OWNER_KEY:
            owner = entry.get("value")
        elif entry.get("key") == NAME_KEY:
            name = entry.get("value")
    return owner, name


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

    # -- helpers -------------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        cap = min(self.settings.max_delay, self.settings.base_delay * 2**attempt)
        return self.rng.uniform(0.0, cap)

    def retry_at(self, attempt: int) -> datetime:
        cap = min(self.settings.max_delay, self.settings.base_delay * 2**attempt)
        return datetime.fromtimestamp(self.clock() + cap, UTC)

    def record(self, kind: str, key: str, outcome: Outcome, **extra: Any) -> None:
        self.result.record(ObjectResult(kind, key, outcome, **extra))
        if self.progress is not None and outcome.converged:
            self.progress(1)

    async def call(self, call: Callable[[], Awaitable[T]], *, what: str) -> T:
        """A whole-batch call, retried on transient failures (after the client's own retries)."""
        attempt = 0
        while True:
            try:
                return await call()
            except PeopleError as error:
                if not _transient(error) or attempt + 1 >= self.settings.max_attempts:
                    raise
                wait = self.backoff(attempt)
                if isinstance(error, RateLimited) and error.retry_after:
                    wait = max(wait, error.retry_after)
                log.info("apply.retry", call=what, error=type(error).__name__, wait=round(wait, 3))
                await self.sleep(wait)
                attempt += 1

    # -- groups --------------------------------------------------------------------------------

    async def run_groups(self, ops: Sequence[GroupOp]) -> dict[str, Person]:
        """Create and update groups (one call each: the API has no batch form for them).

        Returns manifest name -> the group as the server answered, for the contacts' memberships.
        Group deletes belong to the last wave: see :mod:`reconciler.apply.deletes`.
        """
        answered: dict[str, Person] = {}
        for op in ops:
            try:
                if op.kind is OpKind.CREATE:
                    group = await self._create_group(op)
                    outcome = Outcome.CREATED
                elif op.kind is OpKind.UPDATE and op.resource_name:
                    group = await self.call(
                        partial(self.gateway.update_group, op.resource_name, op.body, op.mask),
                        what="updateGroup",
                    )
                    outcome = Outcome.UPDATED
                else:
                    continue
            except PeopleError as error:
                log.warning("apply.group_failed", key=op.key, action=str(op.kind), error=str(error))
                # 409 on an update: the group's etag is outdated; the next pass re-plans it.
                contended = op.kind is OpKind.UPDATE and isinstance(error, Conflict)
                outcome = Outcome.CONFLICT if contended else Outcome.FAILED
                self.record("group", op.key, outcome, reason=str(error), retry_at=self.retry_at(1))
                continue
            answered[op.key] = group
            self.record("group", op.key, outcome, resource_name=group.get("resourceName"))
        return answered

    async def _create_group(self, op: GroupOp) -> Person:
        """Create a group. Group names are unique, so a 409 after a lost answer (ours, retried)
        is resolved by finding the group carrying our stamp: creating a group is idempotent."""
        try:
            return await self.call(partial(self.gateway.create_group, op.body), what="createGroup")
        except (Conflict, UnknownOutcome, ServerError, TransportError):
            for group in await self.call(self.gateway.list_groups, what="listGroups"):
                if stamp_of(group) == (self.owner, op.key):
                    return group
            raise

    # -- creates -------------------------------------------------------------------------------

    async def run_creates(self, ops: Sequence[ContactOp]) -> None:
        """Create contacts, journaling each batch before it is sent."""
        for batch in chunked([op for op in ops if op.kind is OpKind.CREATE], MAX_CREATE):
            await self._create_batch(batch)

    async def _create_batch(self, batch: Sequence[ContactOp]) -> None:
        keys = [op.key for op in batch]
        attempt = 0
        while True:
            self.journal.intend(keys)
            try:
                answers = await self.gateway.batch_create([op.body for op in batch])
                break
            except MAYBE_CREATED as error:
                # The server may have created them: never send these again blindly. The
                # listing (or the settle time) decides; until then they are pending.
                log.warning("apply.create_unknown", batch=len(batch), error=type(error).__name__)
                retry_at = datetime.fromtimestamp(self.clock() + self.settings.settle, UTC)
                for key in keys:
                    self.record(
                        "contact",
                        key,
                        Outcome.PENDING,
                        reason="create sent, answer lost",
                        retry_at=retry_at,
                    )
                return
            except RateLimited as error:
                self.journal.forget(keys)  # a 429 is a refusal: nothing was created
                if attempt + 1 >= self.settings.max_attempts:
                    for key in keys:
                        self.record(
                            "contact",
                            key,
                            Outcome.FAILED,
                            reason=str(error),
                            retry_at=self.retry_at(attempt),
                        )
                    return
                await self.sleep(max(self.backoff(attempt), error.retry_after or 0.0))
                attempt += 1
            except PeopleError as error:
                self.journal.forget(keys)
                for key in keys:
                    self.record("contact", key, Outcome.FAILED, reason=str(error))
                return
        self._record_creates(batch, answers)

    def _record_creates(self, batch: Sequence[ContactOp], answers: Sequence[ItemResult]) -> None:
        by_name: dict[str, Person] = {}
        failed: dict[str, PeopleError] = {}
        for index, answer in enumerate(answers):
            if isinstance(answer, PeopleError):
                # A lost answer or a server failure may still have created the contact: those
                # stay journaled (pending); only a definite refusal forgets the intent.
                if index < len(batch) and not isinstance(answer, MAYBE_CREATED):
                    failed[batch[index].key] = answer
                continue
            _, name = stamp_of(answer)
            key = name if name is not None else (batch[index].key if index < len(batch) else None)
            if key is not None:
                by_name[key] = answer
        self.journal.created(
            (key, str(p["resourceName"])) for key, p in by_name.items() if p.get("resourceName")
        )
        self.journal.forget(failed)
        for op in batch:
            person = by_name.get(op.key)
            if person is not None:
                rn = person.get("resourceName")
                if rn:
                    self.written[str(rn)] = person
                self.record("contact", op.key, Outcome.CREATED, resource_name=rn)
            elif op.key in failed:
                self.record("contact", op.key, Outcome.FAILED, reason=str(failed[op.key]))
            else:
                self.record(
                    "contact",
                    op.key,
                    Outcome.PENDING,
                    reason="create sent, its outcome is unknown",
                    retry_at=datetime.fromtimestamp(self.clock() + self.settings.settle, UTC),
                )

    # -- updates -------------------------------------------------------------------------------

    async def run_updates(self, ops: Sequence[ContactOp]) -> None:
        """Send updates in batches that share an update mask; re-merge and retry conflicts."""
        pending = [op for op in ops if op.kind is OpKind.UPDATE and op.resource_name]
        attempt = 0
        while pending:
            conflicts, transient = await self._update_round(pending)
            if not conflicts and not transient:
                return
            attempt += 1
            if attempt >= self.settings.max_attempts:
                for op, error in [*conflicts, *transient]:
                    outcome = Outcome.CONFLICT if isinstance(error, StaleEtag) else Outcome.FAILED
                    self.record(
                        "contact",
                        op.key,
                        outcome,
                        reason=str(error),
                        resource_name=op.resource_name,
                        retry_at=self.retry_at(attempt),
                    )
                return
            await self.sleep(self.backoff(attempt - 1))
            pending = [op for op, _ in transient]
            pending += await self._remerge([op for op, _ in conflicts])

    async def _update_round(
        self, ops: Sequence[ContactOp]
    ) -> tuple[list[tuple[ContactOp, PeopleError]], list[tuple[ContactOp, PeopleError]]]:
        by_mask: dict[tuple[str, ...], list[ContactOp]] = {}
        for op in ops:
            by_mask.setdefault(tuple(sorted(op.mask)), []).append(op)
        conflicts: list[tuple[ContactOp, PeopleError]] = []
        transient: list[tuple[ContactOp, PeopleError]] = []
        for mask, group in by_mask.items():
            queue = list(group)
            while queue:
                batch, queue = queue[:MAX_UPDATE], queue[MAX_UPDATE:]
                unsent: list[ContactOp] = []
                found = await self._send_updates(batch, mask, transient, unsent)
                if found and not self.synced and self.replan is not None:
                    # Where one contact was edited behind our back, others likely were too:
                    # one incremental sync shows every edit since our listing, so the rest are
                    # re-merged before they are sent instead of being rejected batch by batch.
                    self.synced = True
                    found, queue, later = await self._resync(found, queue, mask)
                    transient += [(op, StaleEtag("re-merged with a new mask")) for op in later]
                queue = unsent + queue
                conflicts += found
        return conflicts, transient

    async def _send_updates(
        self,
        batch: Sequence[ContactOp],
        mask: tuple[str, ...],
        transient: list[tuple[ContactOp, PeopleError]],
        unsent: list[ContactOp],
    ) -> list[tuple[ContactOp, PeopleError]]:
        """One batchUpdateContacts call; returns the stale-etag rejections and adds to
        ``unsent`` what the server did not write because of another item."""
        conflicts: list[tuple[ContactOp, PeopleError]] = []
        bodies = {op.resource_name or "": self._with_freshest_etag(op) for op in batch}
        try:
            answers = await self.call(
                partial(self.gateway.batch_update, bodies, mask), what="batchUpdateContacts"
            )
        except PeopleError as error:
            answers = dict.fromkeys(bodies, error)
        for op in batch:
            answer = answers.get(op.resource_name or "")
            if answer is None:
                transient.append((op, ServerError("no answer for this update")))
            elif isinstance(answer, StaleEtag):
                conflicts.append((op, answer))
            elif isinstance(answer, NotApplied):
                unsent.append(op)
            elif isinstance(answer, PeopleError):
                if answer.retryable:
                    transient.append((op, answer))
                else:
                    self.record(
                        "contact",
                        op.key,
                        Outcome.FAILED,
                        reason=str(answer),
                        resource_name=op.resource_name,
                    )
            else:
                self.written[op.resource_name or ""] = answer
                self.record(
                    "contact",
                    op.key,
                    Outcome.UPDATED,
                    reason="adopted" if op.adopt else "",
                    resource_name=op.resource_name,
                )
        return conflicts

    async def _resync(
        self,
        found: list[tuple[ContactOp, PeopleError]],
        queue: list[ContactOp],
        mask: tuple[str, ...],
    ) -> tuple[list[tuple[ContactOp, PeopleError]], list[ContactOp], list[ContactOp]]:
        """Re-merge the conflicts, and the updates not sent yet, that the sync shows changed.

        Returns the conflicts the sync does not explain (they take the re-read path), the new
        queue (re-merged updates with this mask packed in with the rest) and the re-merged
        updates whose mask changed (they go in the next round).
        """
        try:
            changes = await self.gateway.changed_since_listing()
        except PeopleError:
            changes = None
        if not changes or self.replan is None:
            return found, queue, []
        touched = [op for op, _ in found if (op.resource_name or "") in changes]
        touched += [op for op in queue if (op.resource_name or "") in changes]
        if not touched:
            return found, queue, []
        fresh = {op.key: changes[op.resource_name or ""] for op in touched}
        for op in touched:
            self.written.pop(op.resource_name or "", None)
        merged = self._verdicts(touched, self.replan(fresh))
        keys = {op.key for op in touched}
        rest = [op for op in queue if op.key not in keys]
        same = [op for op in merged if tuple(sorted(op.mask)) == mask]
        other = [op for op in merged if tuple(sorted(op.mask)) != mask]
        return [(op, e) for op, e in found if op.key not in keys], same + rest, other

    def _with_freshest_etag(self, op: ContactOp) -> Person:
        body = dict(op.body)
        known = self.written.get(op.resource_name or "")
        if known is not None and known.get("etag"):
            body["etag"] = known["etag"]
        elif op.etag:
            body["etag"] = op.etag
        return body

    async def _remerge(self, ops: Sequence[ContactOp]) -> list[ContactOp]:
        """Re-read the conflicting contacts and let the planner redo the three-way merge."""
        if not ops:
            return []
        if self.replan is None:
            for op in ops:
                self.record(
                    "contact",
                    op.key,
                    Outcome.CONFLICT,
                    reason="changed since the plan was saved; plan again",
                    resource_name=op.resource_name,
                )
            return []
        fresh: dict[str, Person] = {}
        for batch in chunked(list(ops), MAX_GET):
            names = [op.resource_name or "" for op in batch]
            try:
                got = await self.call(partial(self.gateway.batch_get, names), what="batchGet")
            except PeopleError as error:
                got = dict.fromkeys(names, error)
            for op in batch:
                answer = got.get(op.resource_name or "")
                if isinstance(answer, NotFound):
                    self.record(
                        "contact",
                        op.key,
                        Outcome.CONFLICT,
                        reason="deleted out of band while we updated it",
                        resource_name=op.resource_name,
                        retry_at=self.retry_at(1),
                    )
                elif isinstance(answer, dict):
                    # The stale-etag answer proves the server is past our own last write.
                    self.written.pop(op.resource_name or "", None)
                    fresh[op.key] = answer
                else:
                    fresh[op.key] = {}  # unreadable now: retry with what we had
        readable = {k: p for k, p in fresh.items() if p}
        verdicts = self.replan(readable) if readable else {}
        again = self._verdicts([op for op in ops if op.key in readable], verdicts)
        return again + [op for op in ops if op.key in fresh and not fresh[op.key]]

    def _verdicts(
        self, ops: Sequence[ContactOp], verdicts: Mapping[str, ContactOp | None]
    ) -> list[ContactOp]:
        """Apply the planner's verdicts on fresh copies: the updates to send again."""
        again: list[ContactOp] = []
        for op in ops:
            if op.key not in verdicts:
                self.record(
                    "contact",
                    op.key,
                    Outcome.CONFLICT,
                    reason="could not re-plan the fresh copy",
                    resource_name=op.resource_name,
                    retry_at=self.retry_at(1),
                )
                continue
            verdict = verdicts[op.key]
            if verdict is None:
                self.record(
                    "contact",
                    op.key,
                    Outcome.UNCHANGED,
                    reason="the fresh copy already matches",
                    resource_name=op.resource_name,
                )
            elif verdict.kind is not OpKind.UPDATE:
                self.record(
                    "contact",
                    op.key,
                    Outcome.CONFLICT,
                    reason="ownership stamp changed out of band",
                    resource_name=op.resource_name,
                    retry_at=self.retry_at(1),
                )
            else:
                again.append(verdict)
        return again
