"""The accounts one replica should run: the file's own, and the users each directory entry
selects, as the Directory API last answered, cut to the replica's shard.

Each directory entry is asked again every ``refresh`` seconds. An answer that cannot be had
(the API failing, the delegation revoked) changes nothing: the last good list stays in force,
the failure is logged, counted (``reconciler_directory_refreshes_total{result="error"}``),
shown in ``/status`` and, once it has lasted ``grace`` seconds (or before any list was had),
in ``/readyz``. A user who leaves the selection (moved out of the unit, removed from the group,
suspended, archived, deleted) simply stops being reconciled: nothing of theirs is deleted.

Who wins when an address is chosen twice: an ``accounts`` entry over any directory entry, and
an earlier directory entry over a later one (each account has one writer and one owner).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from reconciler.clock import Clock, SystemClock
from reconciler.controller.accounts import Account, AccountsConfig
from reconciler.controller.conditions import iso
from reconciler.controller.metrics import Metrics
from reconciler.controller.selection import DirectorySelection
from reconciler.controller.sharding import SINGLE, Shard

__all__ = ["Ask", "Roster", "directory_asker"]

Ask = Callable[[DirectorySelection], Awaitable[list[str]]]
"""Asks the Directory for the primary addresses a selection names."""

_log = structlog.get_logger("reconciler.controller")


@dataclass
class _Entry:
    selection: DirectorySelection
    users: list[str] | None = None  # the last good answer; None before the first
    asked: float | None = None
    succeeded: float | None = None
    failing_since: float | None = None
    error: str = ""
    unusable: set[str] = field(default_factory=set)  # addresses that cannot fill the path


class Roster:
    """The file's accounts plus each directory entry's last good answer."""

    def __init__(
        self,
        config: AccountsConfig,
        *,
        shard: Shard = SINGLE,
        metrics: Metrics | None = None,
        grace: float = 20.0,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.shard = shard
        self.metrics = metrics or Metrics()
        self.grace = grace
        self.clock: Clock = clock or SystemClock()
        self.entries = {s.name: _Entry(s) for s in config.directory}
        self._applying = asyncio.Lock()

    def accounts(self) -> list[Account]:
        """Every account this replica runs now, the file's first."""
        chosen: dict[str, Account] = {a.key.casefold(): a for a in self.config.accounts}
        for entry in self.entries.values():
            for email in entry.users or ():
                if email.casefold() in chosen:
                    continue
                account = entry.selection.account(email)
                if account is None:
                    if email not in entry.unusable:
                        entry.unusable.add(email)
                        _log.error(
                            "a selected address cannot fill the manifests path; skipped",
                            entry=entry.selection.name,
                            account=email,
                            hint="{email}, {user} and {domain} may not hold '/', '\\\\' or be '..'",
                        )
                    continue
                chosen[email.casefold()] = account
        return [a for a in chosen.values() if self.shard.owns(a.key)]

    async def refresh(self, name: str, ask: Ask) -> bool:
        """Ask the Directory for entry ``name``'s users; False (the last list kept) on failure."""
        entry = self.entries[name]
        selection = entry.selection
        entry.asked = self.clock.now()
        try:
            users = sorted({email.lower() for email in await ask(selection)})
        except asyncio.CancelledError:
            raise
        except Exception as error:
            entry.error = f"{type(error).__name__}: {error}"
            if entry.failing_since is None:
                entry.failing_since = entry.asked
            self.metrics.directory_refreshes_total.labels(entry=name, result="error").inc()
            _log.error(
                "directory refresh failed; the last good list stays",
                entry=name,
                error=entry.error,
                users=None if entry.users is None else len(entry.users),
            )
            return False
        before = set(entry.users or ())
        entry.users, entry.error, entry.failing_since = users, "", None
        entry.succeeded = entry.asked
        self.metrics.directory_refreshes_total.labels(entry=name, result="ok").inc()
        self.metrics.directory_users.labels(entry=name).set(len(users))
        self.metrics.directory_last_success.labels(entry=name).set(entry.succeeded)
        _log.info(
            "directory refreshed",
            entry=name,
            users=len(users),
            joined=len(set(users) - before),
            left=len(before - set(users)),
        )
        return True

    async def refresh_all(self, ask: Ask) -> None:
        """Ask for every entry at once (at start)."""
        await asyncio.gather(*(self.refresh(name, ask) for name in self.entries))

    async def run(self, ask: Ask, apply: Callable[[Sequence[Account]], Awaitable[None]]) -> None:
        """Refresh each entry every ``refresh`` seconds and hand every good answer's accounts to
        ``apply`` (one at a time, so a later answer is never overtaken by an earlier one)."""

        async def entry_loop(name: str) -> None:
            while True:
                await self.clock.sleep(self.entries[name].selection.refresh)
                if not await self.refresh(name, ask):
                    continue
                async with self._applying:
                    try:
                        await apply(self.accounts())
                    except asyncio.CancelledError:
                        raise
                    except Exception as error:  # the next refresh tries again
                        _log.exception(
                            "could not apply the directory's answer", entry=name, error=repr(error)
                        )

        await asyncio.gather(*(entry_loop(name) for name in self.entries))

    def problems(self) -> list[str]:
        """Why the Directory keeps the controller unready: one line per entry, none when well."""
        lines = []
        for name, entry in self.entries.items():
            if entry.users is None:
                why = entry.error or "not asked yet"
                lines.append(f"directory {name}: no list of users yet ({why})")
            elif entry.failing_since is not None:
                failing = self.clock.now() - entry.failing_since
                if failing >= self.grace:
                    lines.append(
                        f"directory {name}: refreshes have been failing for {failing:.0f}s; "
                        f"the last good list of {len(entry.users)} users stays: {entry.error}"
                    )
        return lines

    def to_json(self) -> list[dict[str, Any]]:
        """The ``directory`` section of ``/status``: no addresses, counts only."""

        def when(seconds: float | None) -> str | None:
            return None if seconds is None else iso(datetime.fromtimestamp(seconds, UTC))

        return [
            {
                "name": name,
                "selection": entry.selection.describe(),
                "users": None if entry.users is None else len(entry.users),
                "ok": entry.users is not None and entry.failing_since is None,
                "lastRefresh": when(entry.asked),
                "lastSuccess": when(entry.succeeded),
                "failingSince": when(entry.failing_since),
                "error": entry.error,
            }
            for name, entry in self.entries.items()
        ]


def directory_asker(replica: Any, credentials: str | None) -> Ask:
    """Asks the Directory over the replica's connections, one client per admin (made when
    first needed, so that a delegation that cannot be set up is a failed refresh, shown in
    readiness, not a crash)."""
    from reconciler.people.directory import DirectoryClient, open_directory

    clients: dict[str, DirectoryClient] = {}

    async def ask(selection: DirectorySelection) -> list[str]:
        client = clients.get(selection.admin)
        if client is None:
            client = open_directory(replica, admin=selection.admin, credentials=credentials)
            clients[selection.admin] = client
        return await client.select(**selection.criteria())

    return ask
