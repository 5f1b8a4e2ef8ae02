"""The first wave: creating and updating contact groups, which contacts then refer to.

The API has no batch form for groups, so each is one call. Group names are unique, which makes
a create idempotent: a 409 after a lost answer is resolved by finding the group carrying our
stamp. Group deletes belong to the last wave (:mod:`reconciler.apply.deletes`).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from reconciler.apply.executor import Executor
from reconciler.apply.ops import GroupOp, OpKind
from reconciler.apply.results import Outcome
from reconciler.model.inputs import Person
from reconciler.model.stamps import stamped_name
from reconciler.people.errors import (
    Conflict,
    PeopleError,
    ServerError,
    TransportError,
    UnknownOutcome,
)

log = structlog.get_logger("reconciler.apply")


async def run_groups(ex: Executor, ops: Sequence[GroupOp]) -> dict[str, Person]:
    """Create and update groups; returns manifest name -> the group as the server answered,
    for the contacts' memberships."""
    answered: dict[str, Person] = {}
    for op in ops:
        try:
            if op.kind is OpKind.CREATE:
                group = await _create_group(ex, op)
                outcome = Outcome.CREATED
            elif op.kind is OpKind.UPDATE and op.resource_name:
                group = await ex.gateway.update_group(op.resource_name, op.body, op.mask)
                outcome = Outcome.UPDATED
            else:
                continue
        except PeopleError as error:
            log.warning("apply.group_failed", key=op.key, action=str(op.kind), error=str(error))
            # 409 ABORTED on an update: the group's etag is outdated; the next pass re-plans it.
            # 409 ALREADY_EXISTS: the new name is taken, which no retry will change.
            if (
                op.kind is OpKind.UPDATE
                and isinstance(error, Conflict)
                and error.reason != "ALREADY_EXISTS"
            ):
                retry_at = ex.retry_at()
                ex.record("group", op.key, Outcome.CONFLICT, reason=str(error), retry_at=retry_at)
            else:
                ex.record_failure("group", op.key, error)
            continue
        answered[op.key] = group
        ex.record("group", op.key, outcome, resource_name=group.get("resourceName"))
    return answered


async def _create_group(ex: Executor, op: GroupOp) -> Person:
    """Create a group, or find the one an earlier attempt of ours created."""
    try:
        return await ex.gateway.create_group(op.body)
    except (Conflict, UnknownOutcome, ServerError, TransportError):
        for group in await ex.gateway.list_groups():
            if stamped_name(group, ex.owner) == op.key:
                return group
        raise
