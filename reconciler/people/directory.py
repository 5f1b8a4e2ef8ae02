"""The Admin SDK Directory API: which users of a Workspace customer a selection names.

A controller for a whole domain does not list its mailboxes by hand: it selects them the way
admins do, all users, an organisational unit, a users search or a group's members, and asks the
Directory again from time to time. Everything the product knows about that API lives here: the
paths, ``customer``/``domain``, the query syntax (an ``orgUnitPath`` clause quoted as Google
asks), paging, and the read-only scopes a delegated service account needs. It is called as an
admin (domain-wide delegation with the admin as the subject); the users found are then each
reconciled as themselves.

Who is selected: users who are neither suspended nor archived, by their primary address; with
a group, those of its members (nested groups too, with ``nested``) who are such users of the
customer (external addresses, groups and suspended members are left out). Suspension is read
from each user's own fields rather than asked in the query: Google warns that searches may lag
behind changes by hours. The facts and their sources: docs/people-api.md, "Admin SDK Directory
API".
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reconciler.clock import Clock
from reconciler.people.pacing import Pacer
from reconciler.people.retry import RetryPolicy
from reconciler.people.targets import Replica, replica_http
from reconciler.people.transport import ClientConfig, Transport

__all__ = [
    "DIRECTORY_SCOPES",
    "DirectoryClient",
    "DirectoryUser",
    "open_directory",
    "org_unit_clause",
]

DIRECTORY_SCOPES = (
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
)
"""What the admin must grant the service account's client id (beside the People scope)."""
GOOGLE_DIRECTORY_URL = "https://admin.googleapis.com/"
USERS_PAGE = 500  # users.list maxResults: at most 500
MEMBERS_PAGE = 200  # members.list maxResults: at most 200
DIRECTORY_RETRIES = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0, deadline=60.0)
"""A refresh that still fails after these is retried at the next refresh; the last good list
stays in force meanwhile."""


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One user as ``users.list`` tells it (the fields a selection reads)."""

    email: str
    suspended: bool
    archived: bool
    org_unit_path: str

    @property
    def active(self) -> bool:
        return not self.suspended and not self.archived


def org_unit_clause(path: str) -> str:
    """The ``query`` clause selecting ``path`` and every unit under it, quoted (a unit's name
    may hold spaces; a quote is escaped as ``\\'``)."""
    escaped = path.replace("\\", "\\\\").replace("'", "\\'")
    return f"orgUnitPath='{escaped}'"


class DirectoryClient:
    """``users.list`` and ``members.list`` as one admin, paced and retried."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def _pages(
        self, method: str, path: str, params: dict[str, str], key: str
    ) -> AsyncIterator[dict[str, Any]]:
        token: str | None = None
        while True:
            query = {**params, **({"pageToken": token} if token else {})}
            body = await self.transport.call(method, "GET", path, params=query)
            for item in body.get(key) or ():
                if isinstance(item, dict):
                    yield item
            token = body.get("nextPageToken")
            if not token:
                return

    async def users(
        self, *, customer: str | None = None, domain: str | None = None, query: str | None = None
    ) -> list[DirectoryUser]:
        """Every user of ``customer`` (or ``domain``) that ``query`` matches, every page."""
        params = {"maxResults": str(USERS_PAGE), "orderBy": "email"}
        params |= {"domain": domain} if domain else {"customer": customer or "my_customer"}
        if query:
            params["query"] = query
        found: list[DirectoryUser] = []
        async for user in self._pages(
            "directory.users.list", "admin/directory/v1/users", params, "users"
        ):
            email = user.get("primaryEmail")
            if isinstance(email, str) and "@" in email:
                found.append(
                    DirectoryUser(
                        email=email.lower(),
                        suspended=bool(user.get("suspended")),
                        archived=bool(user.get("archived")),
                        org_unit_path=str(user.get("orgUnitPath") or "/"),
                    )
                )
        return found

    async def members(self, group: str, *, nested: bool = False) -> set[str]:
        """The addresses of the group's user members (of nested groups too, with ``nested``)."""
        params = {"maxResults": str(MEMBERS_PAGE)}
        if nested:
            params["includeDerivedMembership"] = "true"
        found: set[str] = set()
        path = f"admin/directory/v1/groups/{quote(group, safe='@')}/members"
        async for member in self._pages("directory.members.list", path, params, "members"):
            email = member.get("email")
            if member.get("type") == "USER" and isinstance(email, str):
                found.add(email.lower())
        return found

    async def select(
        self,
        *,
        customer: str | None = None,
        domain: str | None = None,
        org_unit_path: str | None = None,
        query: str | None = None,
        group: str | None = None,
        nested: bool = False,
    ) -> list[str]:
        """The primary addresses of the active users a selection names, sorted (see the module
        docstring). ``org_unit_path`` and ``query`` are ANDed; without any, every user."""
        clauses = [c for c in (org_unit_clause(org_unit_path) if org_unit_path else "", query) if c]
        users = await self.users(customer=customer, domain=domain, query=" ".join(clauses) or None)
        active = {user.email for user in users if user.active}
        if group is not None:
            active &= await self.members(group, nested=nested)
        return sorted(active)


def open_directory(
    replica: Replica,
    *,
    admin: str,
    credentials: str | Path | None = None,
    scopes: Sequence[str] = DIRECTORY_SCOPES,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> DirectoryClient:
    """A Directory client acting as ``admin`` over the replica's connections: on ``google``
    by domain-wide delegation (keyless too, see :func:`reconciler.people.auth.delegate`) with
    ``scopes``; on an emulator with the token ``user:<admin>``. The Directory's quotas are not
    the People API's, so it has a pacer of its own. Nothing of its own to close."""
    config = ClientConfig(retry=DIRECTORY_RETRIES)
    http = replica_http(
        replica,
        token=None if replica.target == "google" else f"user:{admin}",
        subject=admin,
        credentials=credentials,
        timeout=config.timeout,
        scopes=scopes,
        google_base_url=GOOGLE_DIRECTORY_URL,
    )
    transport = Transport(
        http,
        account=f"directory:{admin}",
        config=config,
        clock=clock,
        pacer=Pacer(config.pacing, clock=clock),
        rng=rng,
    )
    return DirectoryClient(transport)
