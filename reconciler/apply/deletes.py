"""The last wave: deleting contacts and groups whose manifest is gone.

Deletes carry no etag in the People API, so nothing guards them on the server: a contact is
re-read (``getBatchGet``, 200 at a time) right before it is deleted, and skipped when its
ownership stamp is no longer ours for that name or it became protected from pruning since the
plan was made. What is still eligible of the plan's batch (at most 500) then goes in one call.
A failure is not tried again here (the transport already did): the contact fails with a
next-attempt time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reconciler.apply.executor import Executor
from reconciler.apply.ops import ContactOp, GroupOp, OpKind
from reconciler.apply.results import Outcome
from reconciler.model.inputs import Person
from reconciler.model.stamps import stamped_name
from reconciler.people.errors import NotFound, PeopleError


async def delete_groups(ex: Executor, ops: Sequence[GroupOp]) -> None:
    """Delete groups whose manifest is gone (their members stay)."""
    for op in ops:
        if op.kind is not OpKind.DELETE or not op.resource_name:
            continue
        try:
            await ex.gateway.delete_group(op.resource_name)
            ex.record("group", op.key, Outcome.DELETED, resource_name=op.resource_name)
        except NotFound:
            ex.record("group", op.key, Outcome.DELETED, resource_name=op.resource_name)
        except PeopleError as error:
            ex.record_failure("group", op.key, error, resource_name=op.resource_name)


async def delete_contacts(
    ex: Executor, ops: Sequence[ContactOp], *, protected: Callable[[Person], bool]
) -> None:
    """Re-read each contact right before deleting it; skip it if its stamp or protection
    changed since the plan."""
    todo = [op for op in ops if op.kind is OpKind.DELETE and op.resource_name]
    eligible: list[ContactOp] = []
    for op, answer in await ex.reread(todo):
        if isinstance(answer, NotFound):
            ex.record_contact(op, Outcome.DELETED, "already gone")
        elif isinstance(answer, PeopleError) or answer is None:
            reason = f"could not re-read before deleting: {answer}"
            ex.record_contact(op, Outcome.FAILED, reason, retry=True)
        elif stamped_name(answer, ex.owner) != op.key:
            ex.record_contact(op, Outcome.SKIPPED, "ownership stamp changed since the plan")
        elif protected(answer):
            ex.record_contact(op, Outcome.SKIPPED, "protected from pruning since the plan")
        else:
            eligible.append(op)
    if not eligible:
        return
    by_name = {op.resource_name or "": op for op in eligible}
    answers = await ex.send(list(by_name), ex.gateway.batch_delete)
    for name, op in by_name.items():
        failure = answers.get(name)
        if failure is None or isinstance(failure, NotFound):
            ex.record_contact(op, Outcome.DELETED)
        else:
            ex.record_failure("contact", op.key, failure, resource_name=op.resource_name)
