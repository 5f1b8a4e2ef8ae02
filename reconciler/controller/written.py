"""What our own writes answered, kept in full only while it is useful.

Two readers need an account's own writes. The apply engine needs the whole answer of a recent
write: a listing that lags our write returns the previous version, and planning against it
would write the same change again, so our copy stands in for it. The poller needs only the etag:
an incremental listing that returns a contact with the etag our last write answered is our own
write echoing back, not someone's edit (sync tokens lag writes by minutes).

A whole Person per written contact, kept for the life of the account, was ~8.7 KiB per contact
at rest. So :class:`OwnWrites` keeps a write's full answer for ``hold`` seconds (far longer
than a listing lags a write) and then only its etag. The mapping itself is the engine's
``written`` (resource name -> full answer); the compact etags sit beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["HOLD_SECONDS", "OwnWrites"]

HOLD_SECONDS = 30.0


class OwnWrites(dict[str, dict[str, Any]]):
    """Resource name -> the full answer of our last write of it, while young; see
    :attr:`etags` for the older ones."""

    def __init__(
        self, *, hold: float = HOLD_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.hold = hold
        self.clock = clock
        self.etags: dict[str, str] = {}  # resource name -> etag our last write answered
        self._since: dict[str, tuple[str, float]] = {}  # name -> (etag, first seen at)

    def etag(self, name: str) -> str | None:
        """The etag our last write of ``name`` answered, if we remember one."""
        full = self.get(name)
        if full is not None:
            return str(full["etag"]) if full.get("etag") else None
        return self.etags.get(name)

    def retire(self, name: str) -> None:
        """The server is past our write of ``name``: forget it entirely."""
        self.pop(name, None)
        self.etags.pop(name, None)
        self._since.pop(name, None)

    def compact(self) -> None:
        """Keep only the etag of each write whose full answer is older than ``hold``."""
        now = self.clock()
        for name, person in list(self.items()):
            etag = str(person.get("etag") or "")
            seen = self._since.get(name)
            if seen is None or seen[0] != etag:  # a new write of this contact
                self._since[name] = (etag, now)
                self.etags.pop(name, None)
                continue
            if now - seen[1] >= self.hold:
                del self[name]
                del self._since[name]
                if etag:
                    self.etags[name] = etag
        for name in self._since.keys() - self.keys():
            del self._since[name]
