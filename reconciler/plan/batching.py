"""Cutting planned items into waves and batches that respect every API limit.

Waves run one after the other: group creates and updates (contacts refer to them), then contact
creates, updates and adoptions (memberships ride in the contact body), then contact deletions,
then group deletions (a group is emptied of our contacts before it goes). Inside a wave, batches
are independent and may run in any order, like the calls of an HTTP batch.

``batchUpdateContacts`` takes a single ``updateMask`` for all its contacts. Updates are grouped
by identical mask rather than merged under a union mask: a union mask would make every contact
in the batch re-send fields it does not change, whole, which widens what a write can clobber
(an edit made on a phone between plan and apply is lost only if the etag check is the sole
guard) and grows request bodies. Masks are few in practice (most updates change one or two
fields), so grouping costs at most a few extra calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from reconciler.model.limits import (
    MAX_BATCH_CREATE,
    MAX_BATCH_DELETE,
    MAX_BATCH_UPDATE,
    MAX_MULTIPART_CALLS,
)
from reconciler.plan.model import Action, Batch, Kind, Method, PlanItem, Wave, WaveName

# Items per call. Group methods have no batch form: a group batch is at most what one multipart
# /batch call may carry (the apply engine sends its items one call each).
BATCH_LIMITS: dict[Method, int] = {
    Method.BATCH_CREATE: MAX_BATCH_CREATE,
    Method.BATCH_UPDATE: MAX_BATCH_UPDATE,
    Method.BATCH_DELETE: MAX_BATCH_DELETE,
    Method.CREATE_GROUP: MAX_MULTIPART_CALLS,
    Method.UPDATE_GROUP: MAX_MULTIPART_CALLS,
    Method.DELETE_GROUP: MAX_MULTIPART_CALLS,
}


def _chunks(method: Method, items: Sequence[PlanItem], mask: tuple[str, ...] = ()) -> list[Batch]:
    size = BATCH_LIMITS[method]
    return [Batch(method, tuple(items[i : i + size]), mask) for i in range(0, len(items), size)]


def _by_mask(method: Method, items: Iterable[PlanItem]) -> list[Batch]:
    groups: dict[tuple[str, ...], list[PlanItem]] = defaultdict(list)
    for item in items:
        groups[item.update_mask].append(item)
    batches: list[Batch] = []
    for mask in sorted(groups):
        batches += _chunks(method, groups[mask], mask)
    return batches


def cut_waves(items: Sequence[PlanItem]) -> tuple[Wave, ...]:
    """The waves and batches that execute ``items`` (no-ops are left out); empty waves omitted."""

    def pick(kind: Kind, *actions: Action) -> list[PlanItem]:
        return [item for item in items if item.kind is kind and item.action in actions]

    waves = [
        Wave(
            WaveName.GROUPS,
            tuple(
                _chunks(Method.CREATE_GROUP, pick(Kind.GROUP, Action.CREATE))
                + _by_mask(Method.UPDATE_GROUP, pick(Kind.GROUP, Action.UPDATE))
            ),
        ),
        Wave(
            WaveName.CONTACTS,
            tuple(
                _chunks(Method.BATCH_CREATE, pick(Kind.CONTACT, Action.CREATE))
                + _by_mask(Method.BATCH_UPDATE, pick(Kind.CONTACT, Action.UPDATE, Action.ADOPT))
            ),
        ),
        Wave(
            WaveName.CONTACT_DELETES,
            tuple(_chunks(Method.BATCH_DELETE, pick(Kind.CONTACT, Action.DELETE))),
        ),
        Wave(
            WaveName.GROUP_DELETES,
            tuple(_chunks(Method.DELETE_GROUP, pick(Kind.GROUP, Action.DELETE))),
        ),
    ]
    return tuple(wave for wave in waves if wave.batches)
