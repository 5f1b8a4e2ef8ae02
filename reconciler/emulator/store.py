"""One address book per user: contacts, contact groups, tombstones and the change sequence.

Records are immutable snapshots: a write replaces a contact's record with a new one that keeps
the old one as ``previous`` (which the read-lag knob serves). Every write takes the next number
of the book's change sequence, which is what sync tokens are made of, and marks the record dirty
so persistence can write exactly what changed.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

MY_CONTACTS = "contactGroups/myContacts"
STARRED = "contactGroups/starred"
# Every system group a real contactGroups.list returns, with its formattedName (docs/people-api.md,
# "System contact groups"). Only myContacts and starred take new members; the others are
# deprecated: contacts may still belong to them, and members can be removed, never added.
SYSTEM_GROUPS: dict[str, str] = {
    MY_CONTACTS: "My Contacts",
    STARRED: "Starred",
    "contactGroups/all": "All Contacts",
    "contactGroups/friends": "Friends",
    "contactGroups/family": "Family",
    "contactGroups/coworkers": "Coworkers",
    "contactGroups/chatBuddies": "Chat contacts",
    "contactGroups/blocked": "Blocked",
}
ADDABLE_SYSTEM_GROUPS = frozenset({MY_CONTACTS, STARRED})
ALL_CONTACTS = "contactGroups/all"

JSON = dict[str, Any]


@dataclass(frozen=True, eq=False)
class Contact:
    """One version of a contact: its writable fields as stored, plus server bookkeeping."""

    resource_name: str
    source_id: str
    fields: JSON
    etag: str
    source_etag: str
    update_time: float
    created_at: float
    seq: int
    photo_url: str | None = None
    previous: Contact | None = None

    @property
    def groups(self) -> list[str]:
        """Resource names of the groups this contact is a member of."""
        return [
            m["contactGroupMembership"]["contactGroupResourceName"]
            for m in self.fields.get("memberships", [])
        ]


@dataclass(frozen=True)
class Group:
    """One version of a contact group."""

    resource_name: str
    name: str
    client_data: list[JSON]
    etag: str
    update_time: float
    seq: int
    system: bool = False


@dataclass(frozen=True)
class Tombstone:
    """What remains of a deleted contact or group, for incremental syncs."""

    resource_name: str
    etag: str
    deleted_at: float
    seq: int


@dataclass
class AddressBook:
    """All of one user's data."""

    user: str
    seq: int = 0
    people: dict[str, Contact] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    deleted_people: dict[str, Tombstone] = field(default_factory=dict)
    deleted_groups: dict[str, Tombstone] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    search_warm: bool = False
    dirty: set[tuple[str, str]] = field(default_factory=set)

    def next_seq(self) -> int:
        """The next number of the change sequence."""
        self.seq += 1
        self.dirty.add(("book", ""))
        return self.seq

    def etag(self, resource_name: str, seq: int, kind: str = "%") -> str:
        """An opaque etag, new for every write (``%EgYB...`` for people)."""
        digest = hashlib.sha256(f"{self.user}|{resource_name}|{seq}|{kind}".encode()).digest()
        text = base64.b64encode(digest[:18]).decode()
        return {"%": "%Eg", "#": "#"}.get(kind, "") + text

    # contacts ----------------------------------------------------------------------------

    def put_contact(self, contact: Contact) -> None:
        """Store a contact's new version and keep the membership index in step."""
        old = self.people.get(contact.resource_name)
        if old is not None:
            for group in old.groups:
                self.members.get(group, set()).discard(contact.resource_name)
        for group in contact.groups:
            self.members.setdefault(group, set()).add(contact.resource_name)
        self.people[contact.resource_name] = contact
        self.deleted_people.pop(contact.resource_name, None)
        self.dirty.add(("person", contact.resource_name))

    def delete_contact(self, resource_name: str, now: float) -> Tombstone:
        """Remove a contact, leaving a tombstone for incremental syncs."""
        contact = self.people.pop(resource_name)
        for group in contact.groups:
            self.members.get(group, set()).discard(resource_name)
        seq = self.next_seq()
        tombstone = Tombstone(resource_name, self.etag(resource_name, seq), now, seq)
        self.deleted_people[resource_name] = tombstone
        self.dirty.add(("person", resource_name))
        return tombstone

    def new_version(
        self, contact: Contact, fields: JSON, now: float, *, photo_url: str | None = None
    ) -> Contact:
        """The next version of ``contact`` with ``fields``, a fresh etag and sequence number.

        The new version keeps the old one (without its own history) as ``previous``.
        """
        seq = self.next_seq()
        name = contact.resource_name
        previous = contact
        if contact.previous is not None:
            previous = Contact(
                name,
                contact.source_id,
                contact.fields,
                contact.etag,
                contact.source_etag,
                contact.update_time,
                contact.created_at,
                contact.seq,
                contact.photo_url,
            )
        return Contact(
            resource_name=name,
            source_id=contact.source_id,
            fields=fields,
            etag=self.etag(name, seq),
            source_etag=self.etag(name, seq, "#"),
            update_time=now,
            created_at=contact.created_at,
            seq=seq,
            photo_url=photo_url or contact.photo_url,
            previous=previous,
        )

    # groups ------------------------------------------------------------------------------

    def ensure_system_groups(self, now: float) -> None:
        """Create the system groups every address book has (those missing, for old state)."""
        for resource_name, _title in SYSTEM_GROUPS.items():
            if resource_name not in self.groups:
                seq = self.next_seq()
                self.put_group(
                    Group(
                        resource_name=resource_name,
                        name=resource_name.split("/", 1)[1],
                        client_data=[],
                        etag=self.etag(resource_name, seq, "g"),
                        update_time=now,
                        seq=seq,
                        system=True,
                    )
                )

    def put_group(self, group: Group) -> None:
        """Store a group's new version."""
        self.groups[group.resource_name] = group
        self.members.setdefault(group.resource_name, set())
        self.deleted_groups.pop(group.resource_name, None)
        self.dirty.add(("group", group.resource_name))

    def delete_group(self, resource_name: str, now: float) -> None:
        """Remove a group, leaving a tombstone."""
        del self.groups[resource_name]
        self.members.pop(resource_name, None)
        seq = self.next_seq()
        etag = self.etag(resource_name, seq, "g")
        self.deleted_groups[resource_name] = Tombstone(resource_name, etag, now, seq)
        self.dirty.add(("group", resource_name))

    def group_by_name(self, name: str) -> Group | None:
        """The user group called ``name``, if any."""
        for group in self.groups.values():
            if not group.system and group.name == name:
                return group
        return None
