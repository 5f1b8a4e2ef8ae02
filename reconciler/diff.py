"""The three-way field diff of one contact or group: manifest, live object, recorded ownership.

Rules (the whole point of the reconciler being safe to point at a real address book):

- a field the manifest declares is replaced whole when its live value means something else;
- a field is cleared only if the stamp says we managed it before and the manifest dropped it;
- every other field (a number someone added on their phone, a photo) is left as it is;
- ``clientData`` keeps every entry of other apps; our stamp entries are rewritten;
- memberships change only for groups we own; system groups, groups of other owners and
  unstamped groups are kept, and a contact never loses its last membership (the API refuses
  that): ``contactGroups/myContacts`` stands in when nothing else is left.

Everything here is a pure function of its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from reconciler.model.fields import MY_CONTACTS, PERSON_WRITABLE_FIELDS, SPECIAL_FIELDS
from reconciler.model.normalize import Normalizer, clean_entry, nfc
from reconciler.model.stamps import (
    CLIENT_DATA_PREFIX,
    Labels,
    Stamp,
    fingerprint,
    foreign_entries,
    stamp_entry_count,
)

CLIENT_DATA = "clientData"
MEMBERSHIPS = "memberships"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after (``None`` when absent). API JSON shapes."""

    field: str
    before: Any
    after: Any


class DesiredContact(NamedTuple):
    """A contact manifest resolved against the live groups: plain data, ready to diff."""

    name: str
    fields: Mapping[str, list[dict[str, Any]]]
    client_data: tuple[dict[str, Any], ...] = ()
    groups: tuple[str, ...] = ()
    prunable: bool = True
    labels: Labels = ()

    def managed(self) -> frozenset[str]:
        """The field names recorded in the stamp: declared fields and declared clientData keys."""
        if not self.client_data:
            return frozenset(self.fields)
        keys = {CLIENT_DATA_PREFIX + str(entry.get("key")) for entry in self.client_data}
        return frozenset(self.fields) | keys


class ContactDiff(NamedTuple):
    """What it takes to make a live contact match its manifest.

    ``body`` holds the whole value of every field in ``update_mask`` (for a create: the whole
    person); ``changes`` is the same information for people to read. ``drift`` names the
    changed fields whose manifest value is the one last applied (so the live side moved): every
    other change is intent.
    """

    changes: tuple[FieldChange, ...]
    update_mask: tuple[str, ...]
    body: dict[str, Any]
    drift: frozenset[str] = frozenset()

    @property
    def changed(self) -> bool:
        return bool(self.update_mask)

    def without(self, fields: frozenset[str]) -> ContactDiff:
        """This diff with ``fields`` left alone (neither changed nor sent)."""
        if not fields:
            return self
        body = {k: v for k, v in self.body.items() if k not in fields}
        if not body:
            return ContactDiff((), (), {})
        changes = tuple(c for c in self.changes if c.field not in fields)
        return ContactDiff(changes, tuple(sorted(body)), body, self.drift - fields)


def membership_groups(person: Mapping[str, Any] | None) -> list[str]:
    """Resource names of the contact groups ``person`` belongs to, in API order."""
    if not person:
        return []
    names: list[str] = []
    for membership in person.get(MEMBERSHIPS) or ():
        group = membership.get("contactGroupMembership") if isinstance(membership, dict) else None
        if not isinstance(group, dict):
            continue
        name = group.get("contactGroupResourceName")
        if not name and group.get("contactGroupId"):
            name = f"contactGroups/{group['contactGroupId']}"
        if name and name not in names:
            names.append(str(name))
    return names


def membership_body(groups: Sequence[str]) -> list[dict[str, Any]]:
    """The ``memberships`` value that puts a contact in exactly ``groups``."""
    return [{"contactGroupMembership": {"contactGroupResourceName": name}} for name in groups]


def _pairs(entries: Any) -> list[tuple[str, str]]:
    if not isinstance(entries, list):
        return []
    return sorted(
        (str(e.get("key", "")), str(e.get("value", ""))) for e in entries if isinstance(e, dict)
    )


def same_client_data(a: Any, b: Any) -> bool:
    """Equal as multisets of (key, value), strings compared in NFC."""
    left, right = _pairs(a), _pairs(b)
    if left == right:
        return True
    return sorted((nfc(k), nfc(v)) for k, v in left) == sorted((nfc(k), nfc(v)) for k, v in right)


def _cleaned_client_data(entries: Any) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        return []
    return [clean_entry(e) for e in entries if isinstance(e, dict)]


def merge_client_data(
    live: Any, desired: DesiredContact, stamp: Stamp, previous: frozenset[str]
) -> list[dict[str, Any]]:
    """Others' entries kept in order, then the manifest's entries, then our stamp."""
    declared = {str(entry.get("key")) for entry in desired.client_data}
    before = {f[len(CLIENT_DATA_PREFIX) :] for f in previous if f.startswith(CLIENT_DATA_PREFIX)}
    kept = [clean_entry(entry) for entry in foreign_entries(live, frozenset(declared | before))]
    return kept + [dict(entry) for entry in desired.client_data] + stamp.entries()


def merge_memberships(
    live: Sequence[str], desired: Sequence[str], owned: frozenset[str]
) -> list[str]:
    """Live memberships outside our groups, plus the desired ones; never empty."""
    merged = [name for name in live if name not in owned]
    merged += [name for name in desired if name not in merged]
    return merged or [MY_CONTACTS]


def _stamp_current(
    live: Mapping[str, Any],
    live_stamp: Stamp | None,
    stamp: Stamp,
    desired: DesiredContact,
    previous: frozenset[str],
) -> bool:
    """Fast path: the live stamp already says everything the new one would, once each.

    ``stamp`` carries a last-applied record only when fields are written; otherwise the live
    record is left as it is (a contact whose fields match is never rewritten for its record).
    """
    if live_stamp is None:
        return False
    return (
        live_stamp[:4] == stamp[:4]  # owner, name, fields, prunable (no allocation per contact)
        and live_stamp.labels == stamp.labels
        and (not stamp.applied or live_stamp.applied == stamp.applied)
        and not desired.client_data
        and not any(f.startswith(CLIENT_DATA_PREFIX) for f in previous)
        and stamp_entry_count(live.get(CLIENT_DATA)) == live_stamp.entry_count()
    )


def _fingerprint(normalizer: Normalizer, field: str, value: Sequence[Mapping[str, Any]]) -> str:
    """The fingerprint of a manifest value in its canonical form, so that writing the same
    value another way (an exported manifest, another phone format) is no change of intent."""
    keep = normalizer.declared_derived(field, value)
    return fingerprint(normalizer.canonical(field, normalizer.clean(field, value, keep)))


def _record(desired: DesiredContact, normalizer: Normalizer) -> tuple[tuple[str, str], ...]:
    """The last-applied record of ``desired``'s fields."""
    return tuple(sorted((f, _fingerprint(normalizer, f, v)) for f, v in desired.fields.items()))


def diff_contact(
    desired: DesiredContact,
    live: Mapping[str, Any] | None,
    *,
    owner: str,
    previous: frozenset[str],
    owned_groups: frozenset[str],
    normalizer: Normalizer,
    live_stamp: Stamp | None = None,
) -> ContactDiff:
    """The changes that make ``live`` (``None``: not there yet) match ``desired``.

    ``previous`` is the managed field set of the live stamp (empty for an adoption),
    ``owned_groups`` the resource names of the groups this owner manages, and ``live_stamp``
    the stamp already read from ``live`` (it lets an unchanged stamp skip the clientData merge).
    """
    stamp = Stamp(
        owner=owner,
        name=desired.name,
        fields=desired.managed(),
        prunable=desired.prunable,
        labels=desired.labels,
    )
    if live is None:
        return _create(desired, stamp._replace(applied=_record(desired, normalizer)))
    changes: list[FieldChange] = []
    body: dict[str, Any] = {}
    drift: list[str] = []
    for field, want in desired.fields.items():
        have = live.get(field)
        if normalizer.equal(field, want, have):
            continue
        last = live_stamp.applied_fingerprint(field) if live_stamp is not None else None
        if last is not None and last == _fingerprint(normalizer, field, want):
            drift.append(field)  # the manifest value is the one last applied: the live side moved
        keep = normalizer.declared_derived(field, want)
        changes.append(
            FieldChange(field, normalizer.clean(field, have, keep) or None, list(want) or None)
        )
        body[field] = list(want)
    dropped = previous - stamp.fields if previous != stamp.fields else frozenset()
    for field in sorted(dropped):
        if field in SPECIAL_FIELDS or field not in PERSON_WRITABLE_FIELDS:
            continue
        have_clean = normalizer.clean(field, live.get(field))
        if have_clean:
            changes.append(FieldChange(field, have_clean, None))
            body[field] = []
    if body:  # a field write: the record of what is applied now goes with it
        stamp = stamp._replace(applied=_record(desired, normalizer))
    if not _stamp_current(live, live_stamp, stamp, desired, previous):
        client_data = merge_client_data(live.get(CLIENT_DATA), desired, stamp, previous)
        if not same_client_data(client_data, live.get(CLIENT_DATA)):
            before = _cleaned_client_data(live.get(CLIENT_DATA))
            changes.append(FieldChange(CLIENT_DATA, before or None, client_data))
            body[CLIENT_DATA] = client_data
    live_groups = membership_groups(live)
    groups = merge_memberships(live_groups, desired.groups, owned_groups)
    if set(groups) != set(live_groups):
        changes.append(FieldChange(MEMBERSHIPS, live_groups or None, groups))
        body[MEMBERSHIPS] = membership_body(groups)
    if not body:
        return ContactDiff((), (), body)
    changes.sort(key=lambda change: change.field)
    return ContactDiff(tuple(changes), tuple(sorted(body)), body, frozenset(drift))


def _create(desired: DesiredContact, stamp: Stamp) -> ContactDiff:
    body: dict[str, Any] = {}
    changes: list[FieldChange] = []
    for field in sorted(desired.fields):
        value = list(desired.fields[field])
        if value:
            body[field] = value
            changes.append(FieldChange(field, None, value))
    client_data = [dict(entry) for entry in desired.client_data] + stamp.entries()
    body[CLIENT_DATA] = client_data
    changes.append(FieldChange(CLIENT_DATA, None, client_data))
    groups = merge_memberships([MY_CONTACTS], desired.groups, frozenset())
    body[MEMBERSHIPS] = membership_body(groups)
    changes.append(FieldChange(MEMBERSHIPS, None, groups))
    changes.sort(key=lambda change: change.field)
    return ContactDiff(tuple(changes), (), body)


@dataclass(frozen=True, slots=True)
class GroupDiff:
    """What it takes to make a live contact group match its manifest."""

    changes: tuple[FieldChange, ...]
    update_mask: tuple[str, ...]
    body: dict[str, Any]


def diff_group(
    key: str, display_name: str, live: Mapping[str, Any] | None, *, owner: str
) -> GroupDiff:
    """A group's name and stamp; other apps' clientData on the group is kept."""
    stamp_entries = Stamp(owner=owner, name=key).entries(with_fields=False)
    if live is None:
        body = {"name": display_name, CLIENT_DATA: stamp_entries}
        changes = (
            FieldChange(CLIENT_DATA, None, stamp_entries),
            FieldChange("name", None, display_name),
        )
        return GroupDiff(changes, (), body)
    changes_list: list[FieldChange] = []
    body = {}
    live_name = live.get("name")
    if nfc(str(live_name or "")).strip() != nfc(display_name).strip():
        changes_list.append(FieldChange("name", live_name, display_name))
    client_data = [clean_entry(e) for e in foreign_entries(live.get(CLIENT_DATA))] + stamp_entries
    if not same_client_data(client_data, live.get(CLIENT_DATA)):
        before = _cleaned_client_data(live.get(CLIENT_DATA))
        changes_list.append(FieldChange(CLIENT_DATA, before or None, client_data))
    if not changes_list:
        return GroupDiff((), (), {})
    # updateGroupFields replaces what it names: send both, whole, so neither is cleared.
    body = {"name": display_name, CLIENT_DATA: client_data}
    changes_list.sort(key=lambda change: change.field)
    return GroupDiff(tuple(changes_list), ("clientData", "name"), body)
