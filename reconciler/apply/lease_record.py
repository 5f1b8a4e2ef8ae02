"""The lease group's record: who holds an address book's write lease, read and written.

The protocol that uses it (taking, renewing, giving back) is :mod:`reconciler.apply.lease`;
this module is the record itself, kept in the ``clientData`` of one contact group (keys in
:mod:`reconciler.model.stamps`), and the etag-guarded write every change goes through, which
``reconciler force-unlock`` uses too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from reconciler.model.stamps import (
    LEASE_EXPIRES_KEY,
    LEASE_GROUP_NAME,
    LEASE_HOLDER_KEY,
    LEASE_ID_KEY,
    LEASE_INSTANCE_KEY,
    LEASE_KEY,
    LEASE_KEYS,
    LEASE_VERSION,
    is_lease_group,
    lease_entries,
)
from reconciler.people.errors import Conflict

log = structlog.get_logger("reconciler.lease")

Group = dict[str, Any]


class LeaseClient(Protocol):
    """The contact group calls a lease needs (a :class:`~reconciler.people.PeopleClient`)."""

    async def list_groups(self) -> list[Group]: ...

    async def create_group(
        self, name: str, *, client_data: Sequence[Mapping[str, str]] = ()
    ) -> Group: ...

    async def update_group(
        self, group: Mapping[str, Any], update_group_fields: str | Sequence[str] = ...
    ) -> Group: ...


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> float:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0  # unreadable: treat as lapsed rather than locking the book forever


@dataclass(frozen=True)
class LeaseRecord:
    """Who holds an address book's lease, and until when (epoch seconds)."""

    lease_id: str
    holder: str
    instance: str
    expires: float

    @classmethod
    def of(cls, group: Mapping[str, Any] | None) -> LeaseRecord | None:
        """The holder recorded on a lease group; None when nobody holds it."""
        values = lease_entries(group.get("clientData")) if group else {}
        if not values.get(LEASE_ID_KEY):
            return None
        return cls(
            values[LEASE_ID_KEY],
            values.get(LEASE_HOLDER_KEY, "unknown"),
            values.get(LEASE_INSTANCE_KEY, ""),
            _epoch(values.get(LEASE_EXPIRES_KEY, "")),
        )

    def describe(self) -> str:
        return f"{self.holder} until {rfc3339(self.expires)} (lease {self.lease_id})"


async def find_lease_group(client: LeaseClient) -> Group | None:
    """The address book's lease group, if it has one."""
    for group in await client.list_groups():
        if is_lease_group(group):
            return group
    return None


async def write_lease(
    client: LeaseClient, group: Group | None, record: list[dict[str, str]]
) -> Group:
    """Replace the lease keys of ``group`` with ``record`` (etag-guarded: a 409 if it changed),
    keeping any other ``clientData``; create the group when there is none."""
    entries = [{"key": LEASE_KEY, "value": LEASE_VERSION}, *record]
    if group is None:
        return await client.create_group(LEASE_GROUP_NAME, client_data=entries)
    others = [
        {"key": str(e.get("key")), "value": str(e.get("value"))}
        for e in group.get("clientData") or ()
        if isinstance(e, dict) and e.get("key") not in LEASE_KEYS
    ]
    body = {
        "resourceName": group.get("resourceName"),
        "etag": group.get("etag"),
        "name": group.get("name"),
        "clientData": [*others, *entries],
    }
    return await client.update_group(body, "clientData")


async def force_unlock(client: LeaseClient, lease_id: str) -> LeaseRecord:
    """Break the lease ``lease_id`` (and only it); returns what it recorded.

    Raises :class:`LookupError` naming the current holder, if any, when ``lease_id`` does not
    hold the lease; a 409 (someone wrote meanwhile) propagates as :class:`Conflict`.
    """
    group = await find_lease_group(client)
    record = LeaseRecord.of(group)
    if record is None or record.lease_id != lease_id:
        now = f"it is held by {record.describe()}" if record else "nobody holds it"
        raise LookupError(f"lease {lease_id} does not hold this address book: {now}")
    await write_lease(client, group, [])
    return record


async def break_lease(lease_id: str, **connection: Any) -> str:
    """Connect as :func:`reconciler.people.connect` would and :func:`force_unlock`; says what
    was broken. A 409 (the lease changed while we looked) becomes a :class:`LookupError`."""
    from reconciler.people import connect

    async with connect(**connection) as client:
        try:
            record = await force_unlock(client, lease_id)
        except Conflict:
            raise LookupError(
                f"the lease changed while breaking lease {lease_id}; nothing was changed, "
                "look again (an apply names the current holder)"
            ) from None
    log.warning("lease.broken", lease=lease_id, holder=record.holder)
    return f"Broke lease {lease_id}, held by {record.describe()}."
