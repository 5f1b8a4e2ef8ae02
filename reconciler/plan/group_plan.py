"""Planning contact groups: create, rename or re-stamp the ones we own, find the ones to prune.

Groups go first in a plan because contacts refer to them. A group created by the plan has no
resource name yet, so contacts refer to it by a placeholder that the apply engine resolves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.diff import diff_group
from reconciler.model.fields import USER_GROUP_TYPE
from reconciler.model.inputs import GroupLike, location_of
from reconciler.model.normalize import nfc
from reconciler.model.stamps import read_stamp
from reconciler.plan.errors import DuplicateOwnership, GroupNameTaken, PlanError
from reconciler.plan.model import PENDING_GROUP_PREFIX, Action, Kind, PlanItem


@dataclass
class GroupPlan:
    """The group items, plus what contacts need to know about groups.

    ``refs`` maps a group manifest name to the resource name (or placeholder) contacts use;
    ``owned`` holds the resource names of every live group we own (memberships to those are
    ours to add and remove); ``labels`` names resource names for people; ``orphans`` are owned
    live groups without a manifest.
    """

    items: list[PlanItem] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    owned: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)
    orphans: list[PlanItem] = field(default_factory=list)
    unchanged: int = 0


def _display_key(name: Any) -> str:
    return nfc(str(name or "")).strip().casefold()


def plan_groups(
    desired: Sequence[GroupLike], live: Sequence[Mapping[str, Any]], owner: str
) -> GroupPlan:
    """Match group manifests to live groups by stamp and say what changes."""
    out = GroupPlan()
    ours: dict[str, Mapping[str, Any]] = {}
    others: dict[str, str] = {}
    for group in live:
        resource_name = str(group.get("resourceName") or "")
        stamp = read_stamp(group.get("clientData"))
        if stamp is not None and stamp.owner == owner:
            if stamp.name in ours:
                raise DuplicateOwnership(
                    f"live groups {ours[stamp.name].get('resourceName')} and {resource_name} both "
                    f"carry the stamp of group {stamp.name!r} (owner {owner!r}); delete one of "
                    "them, then plan again"
                )
            ours[stamp.name] = group
            out.owned.add(resource_name)
            out.labels[resource_name] = stamp.name
        elif group.get("groupType", USER_GROUP_TYPE) == USER_GROUP_TYPE:
            others[_display_key(group.get("name"))] = resource_name
    seen_names: dict[str, str] = {}
    for resource in sorted(desired, key=lambda g: g.name):
        display = resource.spec.name
        clash = seen_names.get(_display_key(display))
        if clash is not None:
            raise PlanError(
                f"{location_of(resource)}: groups {clash!r} and {resource.name!r} have the same "
                "spec.name; group names must be unique in an address book, rename one"
            )
        seen_names[_display_key(display)] = resource.name
        live_group = ours.get(resource.name)
        renamed = live_group is not None and _display_key(live_group.get("name")) != _display_key(
            display
        )
        if (live_group is None or renamed) and _display_key(display) in others:
            doing = "renamed to" if renamed else "created with"
            raise GroupNameTaken(
                f"{location_of(resource)}: group {resource.name!r} would be {doing} the name of "
                f"live group {others[_display_key(display)]}, which this owner does not manage "
                "(Google Contacts refuses two groups with one name); rename spec.name, or rename "
                "or delete the live group"
            )
        diff = diff_group(resource.name, display, live_group, owner=owner)
        if live_group is None:
            placeholder = PENDING_GROUP_PREFIX + resource.name
            out.refs[resource.name] = placeholder
            out.labels[placeholder] = resource.name
            out.items.append(
                PlanItem(
                    kind=Kind.GROUP,
                    action=Action.CREATE,
                    key=resource.name,
                    reason="no live group carries this manifest's stamp",
                    changes=diff.changes,
                    body=diff.body,
                )
            )
            continue
        resource_name = str(live_group.get("resourceName"))
        out.refs[resource.name] = resource_name
        if not diff.update_mask:
            out.unchanged += 1
            continue
        etag = live_group.get("etag")
        out.items.append(
            PlanItem(
                kind=Kind.GROUP,
                action=Action.UPDATE,
                key=resource.name,
                reason="the live group differs from its manifest",
                resource_name=resource_name,
                etag=str(etag) if etag is not None else None,
                changes=diff.changes,
                update_mask=diff.update_mask,
                body={"resourceName": resource_name, "etag": etag, **diff.body},
            )
        )
    wanted = {resource.name for resource in desired}
    for key in sorted(set(ours) - wanted):
        group = ours[key]
        etag = group.get("etag")
        out.orphans.append(
            PlanItem(
                kind=Kind.GROUP,
                action=Action.DELETE,
                key=key,
                reason="its manifest is gone and pruning is on",
                resource_name=str(group.get("resourceName")),
                etag=str(etag) if etag is not None else None,
            )
        )
    return out
