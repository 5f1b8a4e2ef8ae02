"""Contact creates: the only write that is not idempotent, so the only one journaled.

Each batch is written to the create journal (:mod:`reconciler.apply.journal`) before it is
sent. An answer that was lost (or a server failure mid-call) leaves its contacts *pending*:
never created a second time, settled by a later listing or after the settle time. Only a
definite refusal (a 429, a 400) forgets the intent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from reconciler.apply.executor import (
    MAX_CREATE,
    MAYBE_CREATED,
    Executor,
    ItemResult,
    chunked,
)
from reconciler.apply.ops import ContactOp, OpKind
from reconciler.apply.results import Outcome
from reconciler.model.inputs import Person
from reconciler.model.stamps import read_stamp
from reconciler.people.errors import PeopleError, RateLimited

log = structlog.get_logger("reconciler.apply")


async def run_creates(ex: Executor, ops: Sequence[ContactOp]) -> None:
    """Create contacts, journaling each batch before it is sent."""
    for batch in chunked([op for op in ops if op.kind is OpKind.CREATE], MAX_CREATE):
        await _create_batch(ex, batch)


def _settles_at(ex: Executor) -> datetime:
    return datetime.fromtimestamp(ex.clock() + ex.settings.settle, UTC)


async def _create_batch(ex: Executor, batch: Sequence[ContactOp]) -> None:
    keys = [op.key for op in batch]
    attempt = 0
    while True:
        ex.journal.intend(keys)
        try:
            answers = await ex.gateway.batch_create([op.body for op in batch])
            break
        except MAYBE_CREATED as error:
            # The server may have created them: never send these again blindly. The
            # listing (or the settle time) decides; until then they are pending.
            log.warning("apply.create_unknown", batch=len(batch), error=type(error).__name__)
            retry_at = _settles_at(ex)
            for key in keys:
                ex.record(
                    "contact",
                    key,
                    Outcome.PENDING,
                    reason="create sent, answer lost",
                    retry_at=retry_at,
                )
            return
        except RateLimited as error:
            ex.journal.forget(keys)  # a 429 is a refusal: nothing was created
            if attempt + 1 >= ex.settings.max_attempts:
                for key in keys:
                    ex.record(
                        "contact",
                        key,
                        Outcome.FAILED,
                        reason=str(error),
                        retry_at=ex.retry_at(attempt),
                    )
                return
            await ex.sleep(ex.backoff(attempt, error))
            attempt += 1
        except PeopleError as error:
            ex.journal.forget(keys)
            for op in batch:
                ex.record_contact(op, Outcome.FAILED, str(error))
            return
    _record_creates(ex, batch, answers)


def _record_creates(
    ex: Executor, batch: Sequence[ContactOp], answers: Sequence[ItemResult]
) -> None:
    by_name: dict[str, Person] = {}
    failed: dict[str, PeopleError] = {}
    for index, answer in enumerate(answers):
        if isinstance(answer, PeopleError):
            # A lost answer or a server failure may still have created the contact: those
            # stay journaled (pending); only a definite refusal forgets the intent.
            if index < len(batch) and not isinstance(answer, MAYBE_CREATED):
                failed[batch[index].key] = answer
            continue
        stamp = read_stamp(answer.get("clientData"))
        key = (stamp.name if stamp else "") or (batch[index].key if index < len(batch) else None)
        if key is not None:
            by_name[key] = answer
    ex.journal.created(
        (key, str(p["resourceName"])) for key, p in by_name.items() if p.get("resourceName")
    )
    ex.journal.forget(failed)
    for op in batch:
        person = by_name.get(op.key)
        if person is not None:
            rn = person.get("resourceName")
            if rn:
                ex.written[str(rn)] = person
            ex.record("contact", op.key, Outcome.CREATED, resource_name=rn)
        elif op.key in failed:
            ex.record_contact(op, Outcome.FAILED, str(failed[op.key]))
        else:
            ex.record(
                "contact",
                op.key,
                Outcome.PENDING,
                reason="create sent, its outcome is unknown",
                retry_at=_settles_at(ex),
            )
