"""Cheap drift detection: incremental listings by sync token.

A converged address book should cost one request per poll: ``connections.list`` with the sync
token of the previous call returns only what changed since, usually nothing. The poller turns the
changes into work-queue keys (manifest names, read from our ownership stamp) and leaves the
judging to the pass that follows, which re-reads everything: a change may be our own write
echoing back (sync tokens lag writes by design), or a real out-of-band edit.

It asks for ``clientData`` and ``metadata`` only: the stamp names the key, the metadata carries
the tombstone flag, and nothing else is needed to decide what to look at. A tombstone has no
stamp, so the poller remembers which resource name carries which key.

Our own writes echo back too: a person whose resource name and etag are the ones our last write
of it answered changed only because we changed it, and queues nothing; a write by anyone else
after ours carries another etag. The resource name -> key index and our writes' etags are the
account's :class:`~reconciler.controller.liveindex.LiveIndex`, shared with its passes.

An expired token (Google keeps them seven days; the client raises ``SyncTokenExpired`` for both
the 400 and the 410 forms) means changes may have been missed: the caller does a full resync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.controller.liveindex import LiveIndex
from reconciler.people.errors import SyncTokenExpired

__all__ = ["POLL_FIELDS", "LivePoller", "Poll"]

POLL_FIELDS = ("clientData", "metadata")


class ListingLike(Protocol):
    @property
    def people(self) -> Sequence[Mapping[str, Any]]: ...

    @property
    def next_sync_token(self) -> str | None: ...


class Lister(Protocol):
    """The one client method the poller needs."""

    async def list_people(
        self, person_fields: Sequence[str], *, sync_token: str | None = None
    ) -> ListingLike: ...


@dataclass(frozen=True, slots=True)
class Poll:
    """What one poll found: ``keys`` changed; ``resync`` when changes may have been missed."""

    keys: frozenset[str] = frozenset()
    resync: bool = False
    primed: bool = False  # this call was a full listing to get a first (or fresh) token
    changed: int = 0  # people in the answer, ours or not


@dataclass
class LivePoller:
    """Keeps a sync token of one account and folds what it lists into the account's index."""

    client: Lister
    owner: str
    token: str | None = None
    # The account's live index (shared with its passes): the resource name -> key index and
    # our own writes' etags.
    written: LiveIndex = field(default_factory=LiveIndex)

    async def prime(self) -> Poll:
        """A full listing: rebuild the key index and take a fresh token."""
        listing = await self.client.list_people(POLL_FIELDS)
        self.written.forget_keys()
        for person in listing.people:
            self.written.fold(person, self.owner)
        self.token = listing.next_sync_token
        return Poll(primed=True, changed=len(listing.people))

    async def poll(self) -> Poll:
        """Changes since the last call, as keys; primes first if there is no token."""
        self.written.compact()
        if self.token is None:
            return await self.prime()
        try:
            listing = await self.client.list_people(POLL_FIELDS, sync_token=self.token)
        except SyncTokenExpired:
            self.token = None
            primed = await self.prime()
            return Poll(resync=True, primed=True, changed=primed.changed)
        keys: set[str] = set()
        for person in listing.people:
            ours = self.written.echoes(person)
            key = self.written.fold(person, self.owner)
            if key is not None and not ours:
                keys.add(key)
        self.token = listing.next_sync_token or self.token
        return Poll(keys=frozenset(keys), changed=len(listing.people))

    def resource_names(self, keys: Iterable[str]) -> dict[str, str] | None:
        """Manifest name -> resource name for every key, or ``None`` if one is unknown or
        carried by more than one contact (then only a full listing can say what is live)."""
        return self.written.resource_names(keys)

    @property
    def known(self) -> int:
        """How many of our contacts the index knows."""
        return self.written.known
