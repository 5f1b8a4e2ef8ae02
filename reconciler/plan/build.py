"""``build_plan``: desired state + live state -> a :class:`Plan`. Pure.

The pipeline, one step per block:

1. groups: match manifests to live groups by stamp; creates, updates, orphans;
2. index live contacts: ours by stamp name, unstamped ones by email (only for adoption),
   everything else (other owners) ignored;
3. contacts: for each manifest, the three-way diff against its live contact, or an adoption,
   or a create;
4. deletions: our live contacts and groups without a manifest, through the safety guards;
5. waves and batches.

A ``--selector`` narrows steps 3 and 4 to the contacts whose labels match (live ones by the
labels their stamp recorded): nothing outside the selection is written, let alone deleted.
A contact annotated ``reconciler/management-policy: observe`` is matched and compared like any
other, but what differs is reported as drift (a no-op item) and never written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from reconciler.diff import DesiredContact, FieldChange, diff_contact
from reconciler.model.fields import PERSON_WRITABLE_FIELDS
from reconciler.model.inputs import (
    ADOPT_ANNOTATION,
    PREVIOUS_NAMES_ANNOTATION,
    PRUNE_ANNOTATION,
    ContactLike,
    DesiredState,
    LiveState,
    location_of,
    previous_names,
)
from reconciler.model.normalize import Normalizer, nfc
from reconciler.model.stamps import STAMP_KEYS, Stamp, label_pairs, read_stamp
from reconciler.plan.batching import cut_waves
from reconciler.plan.errors import AmbiguousAdoption, DuplicateOwnership, PlanError, UnknownGroup
from reconciler.plan.group_plan import plan_groups
from reconciler.plan.guards import Orphan, check_capacity, guard_deletions
from reconciler.plan.model import PENDING_GROUP_PREFIX, Action, Kind, Plan, PlanItem
from reconciler.plan.observe import drift_item, observe_only
from reconciler.plan.options import DriftPolicy, PlanOptions


def _email_key(value: Any) -> str:
    return nfc(str(value or "")).strip().casefold()


def _emails(entries: Any) -> set[str]:
    if not isinstance(entries, list):
        return set()
    return {
        _email_key(e.get("value")) for e in entries if isinstance(e, Mapping) and e.get("value")
    }


def resolve_contact(resource: ContactLike, group_refs: Mapping[str, str]) -> DesiredContact:
    """A manifest as plain data, with its groups turned into resource names (or placeholders)."""
    where = location_of(resource)
    fields = dict(resource.spec.person_fields())
    if "memberships" in fields:
        raise PlanError(f"{where}: set group memberships with spec.groups, not spec.memberships")
    client_data = tuple(dict(entry) for entry in fields.pop("clientData", None) or ())
    for entry in client_data:
        key = str(entry.get("key", ""))
        if key in STAMP_KEYS or "," in key:
            raise PlanError(
                f"{where}: clientData key {key!r} is reserved or contains ','; choose another key"
            )
    groups = []
    for group in resource.spec.groups:
        if group not in group_refs:
            raise UnknownGroup(
                f"{where}: contact {resource.name!r} lists group {group!r}, which no "
                "ContactGroup manifest defines; add the group or fix the name"
            )
        groups.append(group_refs[group])
    annotations = resource.annotations or {}
    prunable = str(annotations.get(PRUNE_ANNOTATION, "true")).strip().lower() != "false"
    labels = label_pairs(resource.labels)
    return DesiredContact(resource.name, fields, client_data, tuple(groups), prunable, labels)


def build_plan(desired: DesiredState, live: LiveState, options: PlanOptions | None = None) -> Plan:
    """Everything that must change for ``live`` to match ``desired``, in apply order.

    Raises a :class:`~reconciler.plan.errors.PlanError` when the inputs cannot be planned
    (ambiguous adoption, duplicate stamps, unknown groups) and a
    :class:`~reconciler.plan.errors.PlanRefused` when the plan would be unsafe.
    """
    options = options or PlanOptions()
    owner = options.owner
    normalizer = Normalizer(options.default_region)

    # 1. groups
    groups = plan_groups(desired.groups, live.groups, owner)
    owned_groups = frozenset(groups.owned)

    # 2. live contacts: ours by name, unstamped by email
    ours: dict[str, Mapping[str, Any]] = {}
    stamps: dict[str, Stamp] = {}
    prunable: dict[str, bool] = {}
    unstamped: list[Mapping[str, Any]] = []
    etags: dict[str, str] = {}
    for person in live.people:
        resource_name = str(person.get("resourceName") or "")
        if resource_name and person.get("etag") is not None:
            etags[resource_name] = str(person["etag"])
        stamp = read_stamp(person.get("clientData"))
        if stamp is None:
            unstamped.append(person)
            continue
        if stamp.owner != owner:
            continue
        key = stamp.name or resource_name
        if key in ours:
            raise DuplicateOwnership(
                f"live contacts {ours[key].get('resourceName')} and {resource_name} both carry "
                f"the stamp of contact {key!r} (owner {owner!r}); delete the duplicate, then "
                "plan again"
            )
        ours[key] = person
        stamps[key] = stamp
        prunable[key] = stamp.prunable

    by_email: dict[str, list[Mapping[str, Any]]] | None = None
    claimed: dict[str, str] = {}
    current_names: set[str] | None = None  # built only when some manifest was renamed
    moved: dict[str, str] = {}  # old name -> the manifest that took its live contact over
    reported: list[PlanItem] = []  # drift left in place and shown (drift policy report)

    # 3. contacts (the selected ones)
    items: list[PlanItem] = list(groups.items)
    observed: list[PlanItem] = []
    unchanged = groups.unchanged
    names: set[str] = set()
    selector = options.selector
    every_name = {resource.name for resource in desired.contacts}
    selected = [c for c in desired.contacts if selector is None or selector.matches(c.labels)]
    for resource in sorted(selected, key=lambda c: c.name):
        if resource.name in names:
            raise PlanError(
                f"{location_of(resource)}: contact {resource.name!r} is defined twice; "
                "metadata.name must be unique per account"
            )
        names.add(resource.name)
        want = resolve_contact(resource, groups.refs)
        pending = _pending(want.groups) if groups.items else ()
        key = resource.name
        current = ours.get(key)
        renamed_from = None
        if current is None and previous_names(resource.annotations):
            if current_names is None:
                current_names = {contact.name for contact in desired.contacts}
            renamed_from = _renamed_from(resource, ours, current_names, moved)
            if renamed_from is not None:
                key, current = renamed_from, ours[renamed_from]
                moved[renamed_from] = resource.name
        action = Action.UPDATE
        reason = "live fields differ from the manifest"
        if renamed_from is not None:
            reason = f"renamed from {renamed_from!r} ({PREVIOUS_NAMES_ANNOTATION})"
        live_stamp = stamps.get(key)
        previous = live_stamp.fields if live_stamp is not None else frozenset()
        observe = observe_only(resource)
        if current is None and (observe or _wants_adoption(resource, options)):
            if by_email is None:
                by_email = defaultdict(list)
                for person in unstamped:
                    for email in _emails(person.get("emailAddresses")):
                        by_email[email].append(person)
            current = _adoption_match(resource, want, by_email, claimed)
            if current is not None:
                action = Action.ADOPT
                reason = "adopting the unstamped live contact that matches by email"
        diff = diff_contact(
            want,
            current,
            owner=owner,
            previous=previous,
            owned_groups=owned_groups,
            normalizer=normalizer,
            live_stamp=live_stamp if action is Action.UPDATE else None,
        )
        if observe:
            drift = drift_item(resource.name, current, diff.changes)
            observed += drift
            unchanged += not drift
            continue
        if current is None:
            items.append(
                PlanItem(
                    kind=Kind.CONTACT,
                    action=Action.CREATE,
                    key=resource.name,
                    reason="no live contact carries this manifest's stamp",
                    changes=diff.changes,
                    body=diff.body,
                    pending_groups=pending,
                )
            )
            continue
        resource_name = str(current.get("resourceName"))
        etag = current.get("etag")
        left: frozenset[str] = frozenset()  # drift shown but not written (report)
        if diff.drift and options.drift_policy is not DriftPolicy.CORRECT:
            if options.drift_policy is DriftPolicy.REPORT:
                left = diff.drift
            diff = diff.without(diff.drift)  # drift is never written under report or ignore
        if not diff.changed:
            if left:
                reported.append(_drift_reported(resource.name, resource_name, current, left))
            else:
                unchanged += 1
            continue
        items.append(
            PlanItem(
                kind=Kind.CONTACT,
                action=action,
                key=resource.name,
                reason=reason,
                resource_name=resource_name,
                etag=str(etag) if etag is not None else None,
                changes=diff.changes,
                update_mask=diff.update_mask,
                body={"resourceName": resource_name, "etag": etag, **diff.body},
                pending_groups=pending if "memberships" in diff.body else (),
                previous_key=renamed_from,
                drift=tuple(sorted(diff.drift | left)),
            )
        )

    # 4. deletions, through the guards
    orphans = [
        Orphan(_deletion(key, ours[key], stamps[key].fields, etags, normalizer), prunable[key])
        for key in sorted(set(ours) - every_name - set(moved))
        if selector is None or selector.matches(dict(stamps[key].labels))
    ]
    kept_groups: list[PlanItem] = []
    if selector is None:
        orphans += [Orphan(item) for item in groups.orphans]
    else:
        kept_groups = [
            replace(
                item,
                action=Action.NOOP,
                reason="groups are never pruned under a --selector",
                orphan=True,
            )
            for item in groups.orphans
        ]
    in_scope = len(ours)
    if selector is not None:
        in_scope = sum(1 for stamp in stamps.values() if selector.matches(dict(stamp.labels)))
    guarded = guard_deletions(
        orphans,
        options=options,
        complete=desired.complete and live.complete,
        desired_contacts=len(names),
        managed_contacts=in_scope,
    )

    check_capacity(len(live.people), items + guarded.deletes)

    # 5. waves: items listed in apply order, kept no-ops last
    waves = cut_waves(items + guarded.deletes)
    ordered = [item for wave in waves for batch in wave.batches for item in batch.items]
    return Plan(
        owner=owner,
        items=tuple(ordered + guarded.kept + kept_groups + reported + observed),
        waves=waves,
        unchanged=unchanged,
        etags=etags,
        warnings=tuple(guarded.warnings),
        withheld_deletes=guarded.withheld,
        withheld_why=guarded.withheld_why,
        prune=options.prune,
        group_labels=dict(groups.labels),
        revision=desired.revision,
    )


def _pending(groups: tuple[str, ...]) -> tuple[str, ...]:
    """Manifest names of the groups, created by this plan, that ``groups`` refers to."""
    return tuple(
        g[len(PENDING_GROUP_PREFIX) :] for g in groups if g.startswith(PENDING_GROUP_PREFIX)
    )


def _wants_adoption(resource: ContactLike, options: PlanOptions) -> bool:
    annotation = (resource.annotations or {}).get(ADOPT_ANNOTATION, "")
    return options.adopt_by_email or str(annotation).strip().lower() == "email"


def _drift_reported(
    key: str, resource_name: str, person: Mapping[str, Any], fields: frozenset[str]
) -> PlanItem:
    """A kept item that shows drift which ``report`` leaves in place: what changed live."""
    return PlanItem(
        kind=Kind.CONTACT,
        action=Action.NOOP,
        key=key,
        reason=(
            f"drift in {', '.join(sorted(fields))} (changed live since we wrote it) is reported, "
            "not corrected (drift policy report)"
        ),
        resource_name=resource_name,
        etag=str(person.get("etag")) if person.get("etag") is not None else None,
        drift=tuple(sorted(fields)),
    )


def _renamed_from(
    resource: ContactLike,
    ours: Mapping[str, Mapping[str, Any]],
    current_names: set[str],
    moved: Mapping[str, str],
) -> str | None:
    """The previous name (``reconciler/previous-names``) whose live contact ``resource`` takes
    over, if any; a PlanError when that is ambiguous."""
    where = location_of(resource)
    found = []
    for old in previous_names(resource.annotations):
        if old in current_names or old not in ours:
            continue  # a manifest of that name exists (it keeps its contact), or nothing live
        if old in moved:
            raise PlanError(
                f"{where}: contact {resource.name!r} and contact {moved[old]!r} both list "
                f"{old!r} as a previous name; keep it in one of them"
            )
        found.append(old)
    if len(found) > 1:
        listed = ", ".join(f"{ours[old].get('resourceName')} ({old!r})" for old in found)
        raise PlanError(
            f"{where}: contact {resource.name!r} has previous names carried by several live "
            f"contacts: {listed}; delete or merge all but one, then plan again"
        )
    return found[0] if found else None


# Fields a deletion takes away that are no person data of their own: shown, never "added".
_LINKS = frozenset({"clientData", "memberships"})


def _deletion(
    key: str,
    person: Mapping[str, Any],
    managed: frozenset[str],
    etags: Mapping[str, str],
    normalizer: Normalizer,
) -> PlanItem:
    """A delete of ``person``, listing for people to review every field it takes away, and
    naming those a person added (fields our stamp does not record)."""
    changes = []
    added = []
    for field in sorted(PERSON_WRITABLE_FIELDS - _LINKS):
        value = normalizer.clean(field, person.get(field)) if field in person else []
        if value:
            changes.append(FieldChange(field, value, None))
            if field not in managed:
                added.append(field)
    resource_name = str(person.get("resourceName"))
    reason = "its manifest is gone and pruning is on"
    if added:
        reason += f"; it also destroys fields a person added: {', '.join(added)}"
    return PlanItem(
        kind=Kind.CONTACT,
        action=Action.DELETE,
        key=key,
        reason=reason,
        resource_name=resource_name,
        etag=etags.get(resource_name),
        changes=tuple(changes),
        unmanaged=tuple(added),
    )


def _adoption_match(
    resource: ContactLike,
    want: DesiredContact,
    by_email: Mapping[str, list[Mapping[str, Any]]],
    claimed: dict[str, str],
) -> Mapping[str, Any] | None:
    """The single unstamped live contact sharing an email with ``want``, if any."""
    matches: dict[str, Mapping[str, Any]] = {}
    for email in _emails(want.fields.get("emailAddresses")):
        for person in by_email.get(email, ()):
            matches[str(person.get("resourceName"))] = person
    if not matches:
        return None
    where = location_of(resource)
    if len(matches) > 1:
        raise AmbiguousAdoption(
            f"{where}: contact {resource.name!r} matches {len(matches)} unstamped live contacts "
            f"by email ({', '.join(sorted(matches))}); merge or delete the duplicates, or "
            "remove the adopt annotation and let the reconciler create a new contact"
        )
    ((resource_name, person),) = matches.items()
    if resource_name in claimed:
        raise AmbiguousAdoption(
            f"{where}: live contact {resource_name} matches both contact "
            f"{claimed[resource_name]!r} and contact {resource.name!r} by email; give each "
            "contact its own email, or adopt only one of them"
        )
    claimed[resource_name] = resource.name
    return person
