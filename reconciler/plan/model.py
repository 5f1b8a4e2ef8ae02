"""The plan: what will change, in which order, in which batches. Plain data, no behaviour.

Terraform's shape: a tiny closed :class:`Action` enum, a field-level before/after per item, and
a ``reason`` that is for people only (nothing ever branches on it). Everything the apply engine
needs travels in the items: the update mask, the whole values to send and the etag seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.diff import FieldChange

# Contact bodies name groups that this same plan creates by this placeholder until the apply
# engine knows their resource names (see :func:`reconciler.plan.resolve_body`).
PENDING_GROUP_PREFIX = "pending:contactGroups/"


class Action(StrEnum):
    """What happens to one contact or group. The string values are a stable interface."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    ADOPT = "adopt"
    NOOP = "noop"


class Kind(StrEnum):
    CONTACT = "contact"
    GROUP = "group"


class Kept(StrEnum):
    """Why a plan keeps a live object we own whose manifest is gone (the owner of the concept:
    the status model and anything else that branches on it reads this, never ``reason``)."""

    PRUNING_OFF = "pruning-off"
    WITHHELD = "withheld"  # loading or listing was incomplete: the deletion waits
    PROTECTED = "protected"  # stamped ``reconciler/prune: "false"``


class Method(StrEnum):
    """The API method that executes a batch (discovery ids)."""

    CREATE_GROUP = "contactGroups.create"
    UPDATE_GROUP = "contactGroups.update"
    DELETE_GROUP = "contactGroups.delete"
    BATCH_CREATE = "people.batchCreateContacts"
    BATCH_UPDATE = "people.batchUpdateContacts"
    BATCH_DELETE = "people.batchDeleteContacts"


class WaveName(StrEnum):
    """Waves run in this order; every batch of a wave may run in any order."""

    GROUPS = "groups"
    CONTACTS = "contacts"
    CONTACT_DELETES = "contact-deletes"
    GROUP_DELETES = "group-deletes"


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One contact or group and what happens to it.

    ``body`` is the whole object to send (a Person or a ContactGroup, API JSON) with every field
    of ``update_mask`` present in full; it carries ``resourceName`` and ``etag`` for updates.
    ``etag`` is the one seen when planning (deletes carry none in the API, so the apply engine
    compares it after a fresh read). ``pending_groups`` names the groups, created by this plan,
    that the body refers to with :data:`PENDING_GROUP_PREFIX` placeholders. ``orphan`` marks
    a live object we own whose manifest is gone (deleted by this plan, or kept): out of sync.
    ``previous_key`` is the old manifest name of a contact renamed in place (its stamp
    rewritten); ``unmanaged`` names the fields a person added that a delete destroys too.
    ``drift`` names the fields that drifted (changed live since we last wrote them; the
    manifest did not change): among ``changes`` they are written back (policy correct), absent
    from them they are left in place and only shown (policy report); every other change is
    intent. A kept item with ``drift`` is a contact whose only difference is such drift.
    ``kept`` says why an orphan is kept rather than deleted (None for every other item).
    """

    kind: Kind
    action: Action
    key: str
    reason: str
    resource_name: str | None = None
    etag: str | None = None
    changes: tuple[FieldChange, ...] = ()
    update_mask: tuple[str, ...] = ()
    body: Mapping[str, Any] = field(default_factory=dict)
    pending_groups: tuple[str, ...] = ()
    previous_key: str | None = None
    unmanaged: tuple[str, ...] = ()
    drift: tuple[str, ...] = ()
    orphan: bool = False
    kept: Kept | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """Items executed by one call (or one multipart ``/batch`` call for group methods)."""

    method: Method
    items: tuple[PlanItem, ...]
    update_mask: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Wave:
    name: WaveName
    batches: tuple[Batch, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts for the summary line; groups and contacts together, like Terraform resources."""

    add: int = 0
    change: int = 0
    adopt: int = 0
    destroy: int = 0
    unchanged: int = 0
    orphaned: int = 0  # kept although their manifest is gone (counted in ``unchanged`` too)

    @property
    def total(self) -> int:
        return self.add + self.change + self.adopt + self.destroy


@dataclass(frozen=True, slots=True)
class Plan:
    """A complete plan.

    ``items`` lists every change and every notable no-op (a protected or withheld deletion), in
    apply order; contacts that are simply unchanged are only counted (``unchanged``) so that a
    plan of a 50,000-contact book stays small. ``etags`` maps the resource name of every live
    contact seen to its etag; ``group_labels`` maps group resource names (and placeholders) to
    manifest names for display. ``warnings`` are for people (and are rendered). ``revision``
    is the revision of the manifests it was planned from. ``drift_only`` marks a plan reduced
    to its drift (:func:`reconciler.plan.drift_only.drift_only`): shown, never applied.
    """

    owner: str
    items: tuple[PlanItem, ...]
    waves: tuple[Wave, ...]
    unchanged: int = 0
    etags: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    prune: bool = False
    withheld_deletes: int = 0  # contact deletions over the caps, kept (withhold_mass_delete)
    withheld_why: str = ""  # the guard's account of them, naming the override it offers
    group_labels: Mapping[str, str] = field(default_factory=dict)
    revision: str | None = None
    drift_only: bool = False

    @property
    def drift_left(self) -> dict[str, tuple[str, ...]]:
        """Contact key -> drifted fields this plan shows but does not write."""
        left = {}
        for item in self.items:
            if item.kind is Kind.CONTACT and item.drift:
                changed = {change.field for change in item.changes}
                fields = tuple(f for f in item.drift if f not in changed)
                if fields:
                    left[item.key] = fields
        return left

    @property
    def changes(self) -> tuple[PlanItem, ...]:
        """The items that write something."""
        return tuple(item for item in self.items if item.action is not Action.NOOP)

    @property
    def empty(self) -> bool:
        """True when applying this plan would write nothing."""
        return not any(item.action is not Action.NOOP for item in self.items)

    @property
    def orphans(self) -> int:
        """Live objects we own whose manifest is gone and that this plan keeps (pruning off,
        protected, or withheld): the address book is out of sync with the manifests."""
        return sum(1 for item in self.items if item.orphan and item.action is Action.NOOP)

    @property
    def in_sync(self) -> bool:
        """Nothing to write and nothing orphaned: the live state matches the manifests."""
        return self.empty and not self.orphans

    def summary(self) -> Summary:
        counts = dict.fromkeys(Action, 0)
        for item in self.items:
            counts[item.action] += 1
        return Summary(
            add=counts[Action.CREATE],
            change=counts[Action.UPDATE],
            adopt=counts[Action.ADOPT],
            destroy=counts[Action.DELETE],
            unchanged=self.unchanged + counts[Action.NOOP],
            orphaned=self.orphans,
        )
