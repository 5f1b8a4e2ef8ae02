"""The knobs that make the emulator misbehave like the real service.

Each API request passes through :meth:`Faults.before_call`: added latency, per-user and
per-project per-minute quotas (429 with Retry-After), random 500/503s, and the out-of-band
editor. Every token is a user of one project, as with a domain-wide-delegated service account.
Reads and updates consult the lag knobs through the other methods here. Every random choice
comes from the emulator's seeded generator, so a test that sets ``seed`` sees the same
misbehaviour every run.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from reconciler.emulator import contacts
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.errors import ApiError, rate_limited
from reconciler.emulator.store import AddressBook, Contact
from reconciler.model.quotas import (
    CRITICAL_READS,
    CRITICAL_WRITES,
    GROUP_READS,
    GROUP_WRITES,
    MinuteWindow,
    Quota,
)

if TYPE_CHECKING:
    from reconciler.emulator.backend import Emulator

PROJECT = ""  # the key of the project-wide windows (no user is named "")


def limits(config: EmulatorConfig) -> dict[Quota, tuple[int, int]]:
    """Each quota the knobs limit: its per-user and per-project units a minute (0: none)."""
    return {
        CRITICAL_READS: (config.read_quota_per_minute, config.project_read_quota_per_minute),
        CRITICAL_WRITES: (config.write_quota_per_minute, config.project_write_quota_per_minute),
        GROUP_READS: (
            config.group_read_quota_per_minute,
            config.project_group_read_quota_per_minute,
        ),
        GROUP_WRITES: (
            config.group_write_quota_per_minute,
            config.project_group_write_quota_per_minute,
        ),
    }


class Faults:
    """Latency, errors, quotas, lags and the out-of-band editor of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.windows: dict[tuple[str, Quota], MinuteWindow] = {}
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """How latency is spent; replaceable so tests need not wait."""

    def clear(self) -> None:
        """Forget quota usage."""
        self.windows.clear()

    async def before_call(self, costs: Mapping[Quota, int], book: AddressBook) -> None:
        """Apply latency, quotas, random errors and the editor to one API request."""
        config = self.emulator.config
        if config.latency_ms:
            await self.sleep(config.latency_ms / 1000)
        self._charge(costs, book.user)
        self._random_error()
        if config.editor_rate and self.emulator.rng.random() < config.editor_rate:
            self.random_edit(book)

    async def before_directory_call(self) -> None:
        """Apply latency and random errors to one Directory API request (no People quota
        counts it: the Directory API has quotas of its own, not modelled)."""
        config = self.emulator.config
        if config.latency_ms:
            await self.sleep(config.latency_ms / 1000)
        if config.directory_error_rate and self.emulator.rng.random() < config.directory_error_rate:
            raise ApiError("UNAVAILABLE", "The service is currently unavailable.")
        self._random_error()

    def _random_error(self) -> None:
        """With ``error_rate``, a random 500 or 503."""
        if (
            self.emulator.config.error_rate
            and self.emulator.rng.random() < self.emulator.config.error_rate
        ):
            if self.emulator.rng.random() < 0.5:
                raise ApiError("INTERNAL", "Internal error encountered.")
            raise ApiError("UNAVAILABLE", "The service is currently unavailable.")

    def _charge(self, costs: Mapping[Quota, int], user: str) -> None:
        """Charge the call's units (model.quotas.COSTS) to the user's and the project's windows
        of every quota it costs. Nothing is charged unless every window has room."""
        now = self.emulator.now()
        limited = limits(self.emulator.config)
        charges: list[tuple[MinuteWindow, int]] = []
        for quota, units in costs.items():
            for who, limit in zip((user, PROJECT), limited.get(quota, (0, 0)), strict=True):
                if not limit:
                    continue
                window = self.windows.setdefault((who, quota), MinuteWindow())
                free_at = window.room_at(now, units, limit)
                if free_at > now or units > limit:
                    retry_after = max(1, math.ceil(free_at - now))
                    per_user = who != PROJECT
                    self.emulator.stats.refused(quota.limit(per_user=per_user))
                    raise rate_limited(quota, retry_after, limit=limit, per_user=per_user)
                charges.append((window, units))
        for window, units in charges:
            window.charge(now, units)

    # lags ---------------------------------------------------------------------------------

    def visible_version(self, contact: Contact) -> Contact:
        """What a read sees: the previous version while within the read-lag window."""
        lag = self.emulator.config.read_lag_ms / 1000
        if lag and contact.previous is not None and self.emulator.now() - contact.update_time < lag:
            return contact.previous
        return contact

    def listed(self, contact: Contact) -> bool:
        """Whether a listing or search shows this contact yet (listing lag for new contacts)."""
        lag = self.emulator.config.list_lag_ms / 1000
        return not lag or self.emulator.now() - contact.created_at >= lag

    def synced(self, changed_at: float) -> bool:
        """Whether a change made at ``changed_at`` has propagated to incremental syncs."""
        delay = self.emulator.config.sync_delay_ms / 1000
        return not delay or self.emulator.now() - changed_at >= delay

    def spurious_stale(self, contact: Contact) -> bool:
        """Whether to reject an update with a current etag because of a recent write."""
        config = self.emulator.config
        if not config.spurious_etag_rate:
            return False
        recent = self.emulator.now() - contact.update_time < config.spurious_etag_window_ms / 1000
        return recent and self.emulator.rng.random() < config.spurious_etag_rate

    # the out-of-band editor ---------------------------------------------------------------

    def random_edit(self, book: AddressBook) -> Contact | None:
        """Change one random contact the way a person on a phone would."""
        if not book.people:
            return None
        rng = self.emulator.rng
        contact = book.people[rng.choice(sorted(book.people))]
        if rng.random() < 0.5:
            number = f"+1 650 555 {rng.randrange(10000):04d}"
            phones = [dict(p) for p in contact.fields.get("phoneNumbers", [])]
            if phones:
                phones[0] = {**phones[0], "value": number}
            else:
                phones = [{"value": number, "type": "mobile"}]
            person = {"phoneNumbers": phones}
            mask = ["phoneNumbers"]
        else:
            person = {"biographies": [{"value": f"Edited on a phone ({rng.randrange(10**6)})"}]}
            mask = ["biographies"]
        updated = contacts.update(book, contact, person, mask, self.emulator.now())
        book.put_contact(updated)
        return updated
