"""Safety guards on deletions. A plan that would delete is checked here before it exists.

Each guard maps one dangerous situation to one outcome:

- pruning is off                        -> orphans are kept (listed as no-ops);
- loading or listing failed or partial  -> deletions withheld, with a warning;
- no contact manifest left at all       -> refused (almost always a wrong path or a bad merge);
- a stamp that says "do not prune"      -> that contact is kept;
- too many deletions (count or share)   -> refused unless explicitly overridden (or, for a
                                           controller, withheld alone while the rest goes on);
- more contacts than a user may have    -> refused, with the numbers (no override: the API
                                           would refuse the creates anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.model.limits import MAX_CONTACTS_PER_USER
from reconciler.plan.errors import ContactLimitExceeded, DeletionCapExceeded, EmptyDesiredRefused
from reconciler.plan.model import Action, Kept, Kind, PlanItem
from reconciler.plan.options import PlanOptions


@dataclass(frozen=True)
class Orphan:
    """A live object we own whose manifest is gone."""

    item: PlanItem
    prunable: bool = True


@dataclass
class GuardedDeletions:
    deletes: list[PlanItem]
    kept: list[PlanItem]
    warnings: list[str]
    withheld: int = 0  # contact deletions withheld by the caps
    withheld_why: str = ""  # what is over which cap, and the override the command offers


def _keep(orphan: Orphan, why: Kept, reason: str) -> PlanItem:
    return replace(orphan.item, action=Action.NOOP, reason=reason, orphan=True, kept=why)


def guard_deletions(
    orphans: Sequence[Orphan],
    *,
    options: PlanOptions,
    complete: bool,
    desired_contacts: int,
    managed_contacts: int,
) -> GuardedDeletions:
    """Split ``orphans`` into deletions and kept no-ops, or refuse the plan."""
    out = GuardedDeletions([], [], [])
    if not orphans:
        return out
    if not options.prune:
        out.kept = [
            _keep(o, Kept.PRUNING_OFF, "its manifest is gone; kept because pruning is off")
            for o in orphans
        ]
        return out
    if not complete:
        out.kept = [
            _keep(
                o,
                Kept.WITHHELD,
                "deletion withheld: loading manifests or listing live state was incomplete",
            )
            for o in orphans
        ]
        out.warnings.append(
            f"{len(orphans)} deletion(s) withheld because loading manifests or listing live "
            "contacts failed or was partial; fix that and plan again"
        )
        return out
    if desired_contacts == 0 and managed_contacts > 0 and not options.allow_empty_desired:
        raise EmptyDesiredRefused(
            f"refusing to prune: no contact manifest was found, but {managed_contacts} live "
            f"contact(s) are managed by owner {options.owner!r}; check the manifest paths, or "
            + options.override_hint("allow_empty_desired", "delete them all")
        )
    for orphan in orphans:
        if orphan.prunable:
            out.deletes.append(replace(orphan.item, orphan=True))
        else:
            out.kept.append(_keep(orphan, Kept.PROTECTED, 'protected by reconciler/prune: "false"'))
    contact_deletes = sum(1 for item in out.deletes if item.kind is Kind.CONTACT)
    share = contact_deletes / managed_contacts if managed_contacts else 0.0
    over_count = contact_deletes > options.max_deletes
    over_share = contact_deletes >= options.share_floor and share > options.max_delete_share
    if (over_count or over_share) and not options.allow_mass_delete:
        over = (
            f"{contact_deletes} of {managed_contacts} managed contacts "
            f"({share:.0%}): the limit is {options.max_deletes} contacts"
            f"{options.named('max_deletes')} and {options.max_delete_share:.0%} of managed "
            f"contacts{options.named('max_delete_share')}; check that every manifest was "
            "loaded, or " + options.override_hint("allow_mass_delete", "delete them anyway")
        )
        if not options.withhold_mass_delete:
            raise DeletionCapExceeded(f"refusing to delete {over}")
        reason = "deletion withheld: the plan deletes more contacts than the limits allow"
        out.kept += [
            replace(item, action=Action.NOOP, reason=reason, kept=Kept.WITHHELD)
            for item in out.deletes
        ]
        out.deletes = []
        out.withheld = contact_deletes
        out.withheld_why = over
        out.warnings.append(f"withholding the deletion of {over}")
    return out


def check_capacity(live_contacts: int, items: Sequence[PlanItem]) -> None:
    """Refuse a plan after which the address book would hold more contacts than Google allows a
    user; ``live_contacts`` counts every live contact, ours or not."""
    creates = sum(1 for i in items if i.kind is Kind.CONTACT and i.action is Action.CREATE)
    deletes = sum(1 for i in items if i.kind is Kind.CONTACT and i.action is Action.DELETE)
    after = live_contacts + creates - deletes
    if creates and after > MAX_CONTACTS_PER_USER:
        raise ContactLimitExceeded(
            f"refusing the plan: the address book would hold {after:,} contacts ({live_contacts:,} "
            f"now, {creates:,} to create, {deletes:,} to delete), and Google Contacts keeps at "
            f"most {MAX_CONTACTS_PER_USER:,} per user; remove {after - MAX_CONTACTS_PER_USER:,} "
            "contacts from the manifests or the address book, or split them over accounts"
        )
