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
of it answered (``written``, shared with the account's passes) changed only because we changed it,
and queues nothing; a write by anyone else after ours carries another etag. Such a newer version
(or a tombstone) also retires our copy from ``written``: it proves the server is past our write,
so the next pass must not send our old etag.

An expired token (Google keeps them seven days; the client raises ``SyncTokenExpired`` for both
the 400 and the 410 forms) means changes may have been missed: the caller does a full resync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.apply.live import fresher
from reconciler.controller.written import OwnWrites
from reconciler.model import read_stamp
from reconciler.people.errors import SyncTokenExpired

__all__ = ["POLL_FIELDS", "LivePoller", "Poll", "Written", "echoes_our_write"]

POLL_FIELDS = ("clientData", "metadata")

Written = OwnWrites
"""Resource name -> what our last write of that contact answered (one per account)."""


def echoes_our_write(written: Written, person: Mapping[str, Any]) -> bool:
    """``person`` is as our last write left it (same etag): its change is our own, echoing back.

    A version newer than our write, or a tombstone, proves the server is past it: our copy is
    retired from ``written``, so that no pass sends its etag again. (Of an older write only the
    etag is kept: any other etag is then newer, since listings lag writes by far less.)
    """
    name = str(person.get("resourceName") or "")
    mine = written.get(name)
    ours = written.etag(name)
    if ours is None:
        return False
    if person.get("etag") and ours == person.get("etag"):
        return True
    deleted = bool((person.get("metadata") or {}).get("deleted"))
    if deleted or mine is None or fresher(dict(person), mine) is not mine:
        written.retire(name)
    return False


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
    """Keeps a sync token and the resource name -> key index of one account."""

    client: Lister
    owner: str
    token: str | None = None
    # resource name -> what our last write of it answered (its "etag" is what we wrote)
    written: Written = field(default_factory=OwnWrites)
    _keys: dict[str, str] = field(default_factory=dict)  # resource name -> manifest name

    async def prime(self) -> Poll:
        """A full listing: rebuild the index and take a fresh token."""
        listing = await self.client.list_people(POLL_FIELDS)
        self._keys = {}
        for person in listing.people:
            self._index(person)
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
            ours = echoes_our_write(self.written, person)
            key = self._index(person)
            if key is not None and not ours:
                keys.add(key)
        self.token = listing.next_sync_token or self.token
        return Poll(keys=frozenset(keys), changed=len(listing.people))

    def resource_names(self, keys: Iterable[str]) -> dict[str, str] | None:
        """Manifest name -> resource name for every key, or ``None`` if one is unknown or
        carried by more than one contact (then only a full listing can say what is live)."""
        wanted = set(keys)
        found: dict[str, str] = {}
        for resource_name, key in self._keys.items():
            if key in wanted:
                if key in found:
                    return None
                found[key] = resource_name
        return found if len(found) == len(wanted) else None

    @property
    def known(self) -> int:
        """How many of our contacts the index knows."""
        return len(self._keys)

    def _index(self, person: Mapping[str, Any]) -> str | None:
        """Fold one listed person into the index; return the key it concerns, if ours."""
        name = str(person.get("resourceName") or "")
        if not name:
            return None
        if (person.get("metadata") or {}).get("deleted"):
            return self._keys.pop(name, None)
        stamp = read_stamp(person.get("clientData"))
        if stamp is not None and stamp.owner == self.owner:
            self._keys[name] = stamp.name
            return stamp.name
        return self._keys.pop(name, None)  # someone removed our stamp: look at it
