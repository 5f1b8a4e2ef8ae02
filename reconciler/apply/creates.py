"""Contact creates: the only write that is not idempotent, so the only one journaled.

Each batch of the plan is one ``batchCreateContacts`` call, written to the create journal
(:mod:`reconciler.apply.journal`) right before it is sent: once the pacer has let it go, so
that its settle time counts from the send (a process killed mid-call leaves nothing else to
date it by, and the pacer may hold a call for longer than the settle time). An answer that
was lost (or a server failure mid-call) leaves its contacts *pending*: never created a second
time, settled by a later listing or after the settle time. Only a definite refusal (a 429,
a 400) forgets the intent; a refused batch is not tried again here: its contacts fail with a
next-attempt time, and the next round (or the controller's queue) plans them afresh. Contacts
the server did not apply only because another one of the call was refused are sent again at
once, without it: nothing was created.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from reconciler.apply.executor import (
    MAYBE_CREATED,
    Executor,
    ItemResult,
    NotApplied,
)
from reconciler.apply.live import as_written
from reconciler.apply.ops import ContactOp, OpKind
from reconciler.apply.results import Outcome
from reconciler.model.inputs import Person
from reconciler.model.stamps import read_stamp
from reconciler.people.errors import PeopleError

log = structlog.get_logger("reconciler.apply")


async def run_creates(ex: Executor, ops: Sequence[ContactOp]) -> None:
    """Create one batch of contacts (at most 200: the plan's batch), journaled right before it
    is sent."""
    batch = [op for op in ops if op.kind is OpKind.CREATE]
    if not batch:
        return
    by_key = {op.key: op for op in batch}

    async def create(keys: list[str]) -> dict[str, ItemResult]:
        async def intend() -> None:
            await ex.journal.intend(keys)

        try:
            answers = await ex.gateway.batch_create(
                [by_key[key].body for key in keys], before_send=intend
            )
        except MAYBE_CREATED as error:
            # The server may have created them: never send these again blindly. The
            # listing (or the settle time) decides; until then they are pending.
            log.warning("apply.create_unknown", batch=len(keys), error=type(error).__name__)
            await _restamp(ex, keys)
            raise
        except PeopleError:
            await ex.journal.forget(keys)  # a refusal: nothing was created
            raise
        refused = [
            key
            for key, answer in zip(keys, answers, strict=False)
            if isinstance(answer, NotApplied)
        ]
        await ex.journal.forget(refused)
        await _restamp(
            ex,
            [k for k, a in zip(keys, answers, strict=False) if isinstance(a, MAYBE_CREATED)],
        )
        return dict(zip(keys, answers, strict=False))

    answers = await ex.send(list(by_key), create)
    await _record_creates(ex, batch, answers)


async def _restamp(ex: Executor, keys: list[str]) -> None:
    """Count the settle time of creates whose outcome is unknown from now, not from the intent:
    the server may have made them at any time until now (a slow answer, or retried attempts,
    each intended afresh), and the listing can only be trusted to show them ``settle`` after
    the server made them."""
    if keys:
        await ex.journal.intend(keys)


def _settles_at(ex: Executor) -> datetime:
    return datetime.fromtimestamp(ex.clock.now() + ex.settings.settle, UTC)


async def _record_creates(
    ex: Executor, batch: Sequence[ContactOp], answers: dict[str, ItemResult]
) -> None:
    by_name: dict[str, Person] = {}
    failed: dict[str, PeopleError] = {}
    unknown: dict[str, PeopleError] = {}
    for op in batch:
        answer = answers.get(op.key)
        if isinstance(answer, MAYBE_CREATED):
            # A lost answer or a server failure may still have created the contact: those
            # stay journaled (pending); only a definite refusal forgets the intent.
            unknown[op.key] = answer
        elif isinstance(answer, PeopleError):
            failed[op.key] = answer
        elif answer is not None:
            stamp = read_stamp(answer.get("clientData"))
            by_name[(stamp.name if stamp else "") or op.key] = answer
    await ex.journal.created(
        (key, str(p["resourceName"])) for key, p in by_name.items() if p.get("resourceName")
    )
    await ex.journal.forget(failed)
    for op in batch:
        person = by_name.get(op.key)
        if person is not None:
            rn = person.get("resourceName")
            if rn:
                ex.written[str(rn)] = as_written(None, op.body, None, person)
            ex.record("contact", op.key, Outcome.CREATED, resource_name=rn)
        elif op.key in failed:
            ex.record_failure("contact", op.key, failed[op.key])
        else:
            lost = op.key in unknown
            ex.record(
                "contact",
                op.key,
                Outcome.PENDING,
                reason="create sent, answer lost" if lost else "create sent, outcome unknown",
                retry_at=_settles_at(ex),
            )
