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
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from reconciler.emulator import contacts
from reconciler.emulator.errors import ApiError, rate_limited
from reconciler.emulator.store import AddressBook, Contact

if TYPE_CHECKING:
    from reconciler.emulator.backend import Emulator

READ = "read"
WRITE = "write"
WINDOW = 60.0
READ_METRIC = "people.googleapis.com/critical_read_requests"
WRITE_METRIC = "people.googleapis.com/critical_write_requests"
READ_LIMIT = "CriticalReadsPerMinutePerProjectPerUser"
WRITE_LIMIT = "CriticalWritesPerMinutePerProjectPerUser"
PROJECT_READ_LIMIT = "CriticalReadsPerMinutePerProject"
PROJECT_WRITE_LIMIT = "CriticalWritesPerMinutePerProject"
PROJECT = ""  # the key of the project-wide windows (no user is named "")
# The console names of the two metrics, as real 429 messages quote them (docs/people-api.md).
READ_DISPLAY = "Critical read requests (Contact and Profile Reads)"
WRITE_DISPLAY = "Critical write requests (Contact Creates and Updates)"


class Faults:
    """Latency, errors, quotas, lags and the out-of-band editor of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.calls: dict[tuple[str, str], deque[float]] = {}
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """How latency is spent; replaceable so tests need not wait."""

    def clear(self) -> None:
        """Forget quota usage."""
        self.calls.clear()

    async def before_call(self, kind: str, book: AddressBook) -> None:
        """Apply latency, quotas, random errors and the editor to one API request."""
        config = self.emulator.config
        if config.latency_ms:
            await self.sleep(config.latency_ms / 1000)
        self._charge(kind, book.user)
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

    def _charge(self, kind: str, user: str) -> None:
        """Count the request against the user's and the project's quotas; writes also consume
        read quota. Nothing is counted unless every window has room."""
        config = self.emulator.config
        now = self.emulator.now()
        windows = [
            (user, READ, config.read_quota_per_minute, READ_METRIC, READ_DISPLAY, READ_LIMIT),
            (PROJECT, READ, config.project_read_quota_per_minute, READ_METRIC, READ_DISPLAY,
             PROJECT_READ_LIMIT),
        ]  # fmt: skip
        if kind == WRITE:
            windows[:0] = [
                (user, WRITE, config.write_quota_per_minute, WRITE_METRIC, WRITE_DISPLAY,
                 WRITE_LIMIT),
                (PROJECT, WRITE, config.project_write_quota_per_minute, WRITE_METRIC,
                 WRITE_DISPLAY, PROJECT_WRITE_LIMIT),
            ]  # fmt: skip
        for who, bucket, limit, metric, display, limit_name in windows:
            if not limit:
                continue
            calls = self.calls.setdefault((who, bucket), deque())
            while calls and calls[0] <= now - WINDOW:
                calls.popleft()
            if len(calls) >= limit:
                retry_after = max(1, math.ceil(calls[0] + WINDOW - now))
                raise rate_limited(
                    metric, display, limit_name, retry_after, per_user=who != PROJECT
                )
        for who, bucket, limit, *_names in windows:
            if limit:
                self.calls[(who, bucket)].append(now)

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
