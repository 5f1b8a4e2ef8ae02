"""Contact updates: etag-guarded, batched by update mask, conflicts re-merged and retried.

Every update carries the freshest etag we know: the one from the listing, or the one the server
answered our own last write with (reads may lag writes, so a re-read can be older than our own
write). On a stale etag only the conflicting contacts are re-read, the three-way merge is redone
on the fresh copy by the planner (``replan``), so an edit someone made outside our fields
survives, and the write is retried after an exponential backoff with full jitter. A contact still
in conflict after ``max_attempts`` is reported with the time of its next attempt; everything
else proceeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

from reconciler.apply.executor import MAX_UPDATE, Executor, NotApplied
from reconciler.apply.ops import ContactOp, OpKind
from reconciler.apply.results import Outcome
from reconciler.model.inputs import Person
from reconciler.people.errors import NotFound, PeopleError, ServerError, StaleEtag

Rejected = list[tuple[ContactOp, PeopleError]]


async def run_updates(ex: Executor, ops: Sequence[ContactOp]) -> None:
    """Send updates in batches that share an update mask; re-merge and retry conflicts."""
    pending = [op for op in ops if op.kind is OpKind.UPDATE and op.resource_name]
    attempt = 0
    while pending:
        conflicts, transient = await _update_round(ex, pending)
        if not conflicts and not transient:
            return
        attempt += 1
        if attempt >= ex.settings.max_attempts:
            for op, error in [*conflicts, *transient]:
                outcome = Outcome.CONFLICT if isinstance(error, StaleEtag) else Outcome.FAILED
                ex.record(
                    "contact",
                    op.key,
                    outcome,
                    reason=str(error),
                    resource_name=op.resource_name,
                    retry_at=ex.retry_at(attempt),
                )
            return
        await ex.sleep(ex.backoff(attempt - 1))
        pending = [op for op, _ in transient]
        pending += await _remerge(ex, [op for op, _ in conflicts])


async def _update_round(ex: Executor, ops: Sequence[ContactOp]) -> tuple[Rejected, Rejected]:
    """Send every op once; returns the stale-etag rejections and the transient failures."""
    by_mask: dict[tuple[str, ...], list[ContactOp]] = {}
    for op in ops:
        by_mask.setdefault(tuple(sorted(op.mask)), []).append(op)
    conflicts: Rejected = []
    transient: Rejected = []
    for mask, group in by_mask.items():
        queue = list(group)
        while queue:
            batch, queue = queue[:MAX_UPDATE], queue[MAX_UPDATE:]
            unsent: list[ContactOp] = []
            found = await _send_updates(ex, batch, mask, transient, unsent)
            if found and not ex.synced and ex.replan is not None:
                # Where one contact was edited behind our back, others likely were too:
                # one incremental sync shows every edit since our listing, so the rest are
                # re-merged before they are sent instead of being rejected batch by batch.
                ex.synced = True
                found, queue, later = await _resync(ex, found, queue, mask)
                transient += [(op, StaleEtag("re-merged with a new mask")) for op in later]
            queue = unsent + queue
            conflicts += found
    return conflicts, transient


async def _send_updates(
    ex: Executor,
    batch: Sequence[ContactOp],
    mask: tuple[str, ...],
    transient: Rejected,
    unsent: list[ContactOp],
) -> Rejected:
    """One batchUpdateContacts call; returns the stale-etag rejections and adds to
    ``unsent`` what the server did not write because of another item."""
    conflicts: Rejected = []
    bodies = {op.resource_name or "": _with_freshest_etag(ex, op) for op in batch}
    try:
        answers = await ex.call(
            partial(ex.gateway.batch_update, bodies, mask), what="batchUpdateContacts"
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
                ex.record_contact(op, Outcome.FAILED, str(answer))
        else:
            ex.written[op.resource_name or ""] = answer
            ex.record_contact(op, Outcome.UPDATED, "adopted" if op.adopt else "")
    return conflicts


async def _resync(
    ex: Executor, found: Rejected, queue: list[ContactOp], mask: tuple[str, ...]
) -> tuple[Rejected, list[ContactOp], list[ContactOp]]:
    """Re-merge the conflicts, and the updates not sent yet, that the sync shows changed.

    Returns the conflicts the sync does not explain (they take the re-read path), the new
    queue (re-merged updates with this mask packed in with the rest) and the re-merged
    updates whose mask changed (they go in the next round).
    """
    try:
        changes = await ex.gateway.changed_since_listing()
    except PeopleError:
        changes = None
    if not changes or ex.replan is None:
        return found, queue, []
    touched = [op for op, _ in found if (op.resource_name or "") in changes]
    touched += [op for op in queue if (op.resource_name or "") in changes]
    if not touched:
        return found, queue, []
    fresh = {op.key: changes[op.resource_name or ""] for op in touched}
    for op in touched:
        ex.written.pop(op.resource_name or "", None)
    merged = _verdicts(ex, touched, ex.replan(fresh))
    keys = {op.key for op in touched}
    rest = [op for op in queue if op.key not in keys]
    same = [op for op in merged if tuple(sorted(op.mask)) == mask]
    other = [op for op in merged if tuple(sorted(op.mask)) != mask]
    return [(op, e) for op, e in found if op.key not in keys], same + rest, other


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
            fresh[op.key] = answer
        else:
            fresh[op.key] = {}  # unreadable now: retry with what we had
    readable = {k: p for k, p in fresh.items() if p}
    verdicts = ex.replan(readable) if readable else {}
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
