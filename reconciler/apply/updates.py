"""Contact updates: one plan batch per call, etag-guarded, conflicts re-merged and sent again.

Every update carries the freshest etag we know: the one from the listing, or the one the server
answered our own last write with (reads may lag writes, so a re-read can be older than our own
write). On a stale etag only the conflicting contacts are re-read, the three-way merge is redone
on the fresh copy by the planner (``replan``), so an edit someone made outside our fields
survives, and the batch's rest is sent again with them after an exponential backoff with full
jitter. A contact still in conflict after ``max_attempts`` sends is reported with the time of
its next attempt; everything else proceeds. Any other failure is not tried again here (the
transport already did): the contact fails with a next-attempt time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.apply.executor import Executor, NotApplied
from reconciler.apply.live import as_written
from reconciler.apply.ops import ContactOp, OpKind
from reconciler.apply.results import Outcome
from reconciler.model.inputs import Person
from reconciler.people.errors import NotFound, PeopleError, ServerError, StaleEtag

Rejected = list[tuple[ContactOp, PeopleError]]


async def run_updates(ex: Executor, ops: Sequence[ContactOp]) -> None:
    """Send one batch of updates (the plan's: at most 200, one update mask); re-merge and send
    again what is in conflict, together with what the server left unapplied because of it."""
    todo = _take_remerged(ex, [op for op in ops if op.kind is OpKind.UPDATE and op.resource_name])
    for op in ops:
        ex.upcoming.pop(op.resource_name or "", None)
    attempt = 0
    while todo:
        conflicts: Rejected = []
        unsent: list[ContactOp] = []
        for mask, group in _by_mask(todo).items():
            found, left = await _send_updates(ex, group, mask)
            conflicts += found
            unsent += left
        if not conflicts and not unsent:
            return
        attempt += 1
        if attempt >= ex.settings.max_attempts:
            for op, error in conflicts:
                ex.record_contact(op, Outcome.CONFLICT, str(error), retry=True)
            for op in unsent:
                ex.record_failure(
                    "contact",
                    op.key,
                    NotApplied("another contact of the batch was refused"),
                    resource_name=op.resource_name,
                )
            return
        again: list[ContactOp] = []
        if conflicts and not ex.synced and ex.replan is not None:
            # Where one contact was edited behind our back, others likely were too: one
            # incremental sync shows every edit since our listing, so they are re-merged at
            # once, and so are the updates of later batches it shows changed.
            ex.synced = True
            conflicts, again = await _resync(ex, conflicts)
        if conflicts:
            await ex.clock.sleep(ex.backoff(attempt - 1))
            again += await _remerge(ex, [op for op, _ in conflicts])
        todo = unsent + again


def _by_mask(ops: Sequence[ContactOp]) -> dict[tuple[str, ...], list[ContactOp]]:
    groups: dict[tuple[str, ...], list[ContactOp]] = {}
    for op in ops:
        groups.setdefault(tuple(op.mask), []).append(op)
    return groups


def _take_remerged(ex: Executor, ops: Sequence[ContactOp]) -> list[ContactOp]:
    """The batch's ops, each replaced by its re-merge when an earlier sync showed it changed."""
    remerged = {op.key: ex.remerged.pop(op.key) for op in ops if op.key in ex.remerged}
    untouched = [op for op in ops if op.key not in remerged]
    return untouched + _verdicts(ex, [op for op in ops if op.key in remerged], remerged)


async def _send_updates(
    ex: Executor, batch: Sequence[ContactOp], mask: tuple[str, ...]
) -> tuple[Rejected, list[ContactOp]]:
    """One batchUpdateContacts call; returns the stale-etag rejections and what the server did
    not write because of another item."""
    conflicts: Rejected = []
    unsent: list[ContactOp] = []
    bodies = {op.resource_name or "": _with_freshest_etag(ex, op) for op in batch}
    try:
        answers = await ex.gateway.batch_update(bodies, mask)
    except PeopleError as error:
        answers = dict.fromkeys(bodies, error)
    for op in batch:
        answer = answers.get(op.resource_name or "")
        if answer is None:
            ex.record_failure(
                "contact",
                op.key,
                ServerError("no answer for this update"),
                resource_name=op.resource_name,
            )
        elif isinstance(answer, StaleEtag):
            conflicts.append((op, answer))
        elif isinstance(answer, NotApplied):
            unsent.append(op)
        elif isinstance(answer, PeopleError):
            ex.record_failure("contact", op.key, answer, resource_name=op.resource_name)
        else:
            name = op.resource_name or ""
            base = ex.written.get(name) or ex.live.get(name)
            ex.written[name] = as_written(base, bodies[name], mask, answer)
            ex.record_contact(op, Outcome.ADOPTED if op.adopt else Outcome.UPDATED)
    return conflicts, unsent


async def _resync(ex: Executor, found: Rejected) -> tuple[Rejected, list[ContactOp]]:
    """Re-merge the conflicts that one incremental sync shows changed, and remember the
    re-merge of every update of a later batch it shows changed, for when that batch is sent.

    Returns the conflicts the sync does not explain (they take the re-read path) and the
    re-merged updates to send now.
    """
    try:
        changes = await ex.gateway.changed_since_listing()
    except PeopleError:
        changes = None
    if not changes or ex.replan is None:
        return found, []
    now = [op for op, _ in found if (op.resource_name or "") in changes]
    fresh = {op.key: changes[op.resource_name or ""] for op in now}
    later = {key: changes[rn] for rn, key in ex.upcoming.items() if rn in changes}
    fresh.update({key: person for key, person in later.items() if key not in fresh})
    for person in fresh.values():
        ex.written.pop(str(person.get("resourceName")), None)
        ex.live[str(person.get("resourceName"))] = person
    verdicts = await ex.replan(fresh)
    ex.remerged.update({key: verdicts[key] for key in later if key in verdicts})
    keys = {op.key for op in now}
    return [(op, e) for op, e in found if op.key not in keys], _verdicts(ex, now, verdicts)


def _with_freshest_etag(ex: Executor, op: ContactOp) -> Person:
    body = dict(op.body)
    known = ex.written.get(op.resource_name or "")
    if known is not None and known.get("etag"):
        body["etag"] = known["etag"]
    elif op.etag:
        body["etag"] = op.etag
    return body


async def _remerge(ex: Executor, ops: Sequence[ContactOp]) -> list[ContactOp]:
    """Re-read the conflicting contacts and let the planner redo the three-way merge."""
    if not ops:
        return []
    if ex.replan is None:
        for op in ops:
            ex.record_contact(op, Outcome.CONFLICT, "changed since the plan was saved; plan again")
        return []
    fresh: dict[str, Person] = {}
    for op, answer in await ex.reread(ops):
        if isinstance(answer, NotFound):
            ex.record_contact(
                op, Outcome.CONFLICT, "deleted out of band while we updated it", retry=True
            )
        elif isinstance(answer, dict):
            # The stale-etag answer proves the server is past our own last write.
            ex.written.pop(op.resource_name or "", None)
            ex.live[op.resource_name or ""] = answer
            fresh[op.key] = answer
        else:
            fresh[op.key] = {}  # unreadable now: retry with what we had
    readable = {k: p for k, p in fresh.items() if p}
    verdicts = await ex.replan(readable) if readable else {}
    again = _verdicts(ex, [op for op in ops if op.key in readable], verdicts)
    return again + [op for op in ops if op.key in fresh and not fresh[op.key]]


def _verdicts(
    ex: Executor, ops: Sequence[ContactOp], verdicts: Mapping[str, ContactOp | None]
) -> list[ContactOp]:
    """Apply the planner's verdicts on fresh copies: the updates to send again."""
    again: list[ContactOp] = []
    for op in ops:
        if op.key not in verdicts:
            ex.record_contact(op, Outcome.CONFLICT, "could not re-plan the fresh copy", retry=True)
            continue
        verdict = verdicts[op.key]
        if verdict is None:
            ex.record_contact(op, Outcome.UNCHANGED, "the fresh copy already matches")
        elif verdict.kind is not OpKind.UPDATE:
            ex.record_contact(
                op, Outcome.CONFLICT, "ownership stamp changed out of band", retry=True
            )
        else:
            again.append(verdict)
    return again
