"""Ownership stamps: the ``clientData`` entries that tie a live contact to a manifest.

The stamp, not a local state file, is the link between a manifest and a live contact, so the
reconciler is stateless. A contact carries::

    reconciler.owner   the owner id (two repos or controllers never share one)
    reconciler.name    the manifest's metadata.name
    reconciler.fields  the comma-separated, sorted fields it manages (for three-way merges)
    reconciler.prune   "false" when the manifest said ``reconciler/prune: "false"``; kept on the
                       live side so the contact stays protected after its manifest is gone
    reconciler.applied the fingerprint of each managed field's manifest value as last written
                       (``names=1a2b3c4d5e6f,...``), like kubectl's last-applied configuration:
                       a field that differs live while its manifest value still has that
                       fingerprint is drift (someone changed it), otherwise intent
    reconciler.labels  the manifest's ``metadata.labels`` as compact JSON (only when it has
                       some), so that an export of the live address book gives them back

Groups carry only the owner and the name. Any other ``clientData`` entry belongs to someone else
and is preserved.

One group is not a manifest's: the address book's write lease (:mod:`reconciler.apply.lease`),
named :data:`LEASE_GROUP_NAME` and marked by the key ``reconciler.lease``. Its ``clientData``
says who holds the lease and until when::

    reconciler.lease            the lease record's format version
    reconciler.lease.id         the id of the current lease (what ``force-unlock`` names)
    reconciler.lease.holder     who holds it, for people: command, owner, user@host, pid
    reconciler.lease.instance   the holder's state directory id (a dead local holder is known)
    reconciler.lease.expires    when it lapses unless renewed, RFC 3339 UTC

It carries no owner stamp, so no plan ever matches, prunes or reports it; export leaves it out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

OWNER_KEY = "reconciler.owner"
NAME_KEY = "reconciler.name"
FIELDS_KEY = "reconciler.fields"
PRUNE_KEY = "reconciler.prune"
LABELS_KEY = "reconciler.labels"
APPLIED_KEY = "reconciler.applied"
STAMP_KEYS: frozenset[str] = frozenset(
    {OWNER_KEY, NAME_KEY, FIELDS_KEY, PRUNE_KEY, APPLIED_KEY, LABELS_KEY}
)

Labels = tuple[tuple[str, str], ...]

LEASE_KEY = "reconciler.lease"
LEASE_ID_KEY = "reconciler.lease.id"
LEASE_HOLDER_KEY = "reconciler.lease.holder"
LEASE_INSTANCE_KEY = "reconciler.lease.instance"
LEASE_EXPIRES_KEY = "reconciler.lease.expires"
LEASE_KEYS: frozenset[str] = frozenset(
    {LEASE_KEY, LEASE_ID_KEY, LEASE_HOLDER_KEY, LEASE_INSTANCE_KEY, LEASE_EXPIRES_KEY}
)
LEASE_VERSION = "1"
LEASE_GROUP_NAME = "Reconciler lease (do not delete)"

# Managed clientData keys of a manifest are recorded in reconciler.fields as "clientData.<key>".
CLIENT_DATA_PREFIX = "clientData."


class Stamp(NamedTuple):
    """Who owns a live object, under which manifest name, and which of its fields.

    A named tuple rather than a dataclass: one is read per live contact, so construction cost
    shows up in plans of large address books.
    """

    owner: str
    name: str
    fields: frozenset[str] = frozenset()
    prunable: bool = True
    applied: tuple[tuple[str, str], ...] = ()  # (field, fingerprint) as last written, sorted
    labels: Labels = ()

    def entries(self, *, with_fields: bool = True) -> list[dict[str, str]]:
        """The ``clientData`` entries that record this stamp (groups omit the field set)."""
        entries = [{"key": OWNER_KEY, "value": self.owner}, {"key": NAME_KEY, "value": self.name}]
        if with_fields:
            entries.append({"key": FIELDS_KEY, "value": ",".join(sorted(self.fields))})
        if not self.prunable:
            entries.append({"key": PRUNE_KEY, "value": "false"})
        if with_fields and self.applied:
            value = ",".join(f"{field}={digest}" for field, digest in self.applied)
            entries.append({"key": APPLIED_KEY, "value": value})
        if self.labels:
            entries.append({"key": LABELS_KEY, "value": _encode_labels(self.labels)})
        return entries

    def applied_fingerprint(self, field: str) -> str | None:
        """The fingerprint of ``field``'s manifest value when it was last written, if recorded."""
        for name, digest in self.applied:
            if name == field:
                return digest
        return None

    def entry_count(self) -> int:
        """How many ``clientData`` entries a contact's stamp takes (``entries()``'s length)."""
        return 3 + (not self.prunable) + bool(self.applied) + bool(self.labels)


def label_pairs(labels: Mapping[str, str] | None) -> Labels:
    """Manifest labels in the stamp's canonical order."""
    return tuple(sorted((str(k), str(v)) for k, v in (labels or {}).items()))


def _encode_labels(labels: Labels) -> str:
    return json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@lru_cache(maxsize=1024)
def _decode_labels(recorded: str) -> Labels:
    """The labels recorded in the stamp; a value someone mangled counts as none."""
    try:
        data = json.loads(recorded) if recorded else {}
    except ValueError:
        return ()
    if not isinstance(data, dict):
        return ()
    return label_pairs({k: v for k, v in data.items() if isinstance(v, str)})


def _entries(client_data: Any) -> Sequence[Mapping[str, Any]]:
    if not isinstance(client_data, list):
        return ()
    return [entry for entry in client_data if isinstance(entry, dict)]


def read_stamp(client_data: Any) -> Stamp | None:
    """The stamp recorded in ``client_data``, or ``None`` for an unstamped object.

    ``clientData`` allows duplicate keys; the first entry of each stamp key wins.
    """
    if not isinstance(client_data, list):
        return None
    values: dict[str, str] = {}
    for entry in client_data:
        key = entry.get("key") if isinstance(entry, dict) else None
        if key in STAMP_KEYS and key not in values:
            values[key] = str(entry.get("value") or "")
    owner = values.get(OWNER_KEY)
    if not owner:
        return None
    return Stamp(
        owner,
        values.get(NAME_KEY, ""),
        _field_set(values.get(FIELDS_KEY, "")),
        values.get(PRUNE_KEY, "").strip().lower() != "false",
        _applied(values.get(APPLIED_KEY, "")),
        _decode_labels(values.get(LABELS_KEY, "")),
    )


def _applied(recorded: str) -> tuple[tuple[str, str], ...]:
    """``"a=x,b=y"`` -> ``(("a", "x"), ("b", "y"))``; malformed parts are ignored. Not
    memoised: each contact's record is its own, so a cache would only hold memory."""
    if not recorded:
        return ()
    pairs = (part.partition("=") for part in recorded.split(",") if "=" in part)
    return tuple(sorted((name, digest) for name, _, digest in pairs if name and digest))


def fingerprint(value: object) -> str:
    """A short, stable digest of a value (JSON-like), for the last-applied record."""
    text = json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr
    )
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


@lru_cache(maxsize=1024)
def _field_set(recorded: str) -> frozenset[str]:
    """``"a,b"`` -> ``{"a", "b"}``; memoised, as most contacts record the same few sets."""
    return frozenset(name for name in recorded.split(",") if name)


def foreign_entries(
    client_data: Any, also_ours: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The entries of ``client_data`` that belong to someone else, in their order.

    ``also_ours`` names extra keys (declared in a manifest) that the reconciler owns too.
    """
    return [
        dict(entry)
        for entry in _entries(client_data)
        if entry.get("key") not in STAMP_KEYS and entry.get("key") not in also_ours
    ]


def stamp_entry_count(client_data: Any) -> int:
    """How many entries of ``client_data`` are stamp entries (duplicates included)."""
    return sum(1 for entry in _entries(client_data) if entry.get("key") in STAMP_KEYS)


def lease_entries(client_data: Any) -> dict[str, str]:
    """The lease keys of ``client_data`` (first entry of each wins); empty on any other group."""
    values: dict[str, str] = {}
    for entry in _entries(client_data):
        key = entry.get("key")
        if key in LEASE_KEYS and key not in values:
            values[str(key)] = str(entry.get("value") or "")
    return values


def is_lease_group(group: Mapping[str, Any]) -> bool:
    """Whether ``group`` is an address book's write lease rather than anyone's label."""
    return LEASE_KEY in lease_entries(group.get("clientData"))
