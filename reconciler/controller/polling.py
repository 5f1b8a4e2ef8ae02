"""Cheap drift detection: incremental listings by sync token.

A converged address book should cost one request per poll: ``connections.list`` with the sync
token of the previous call returns only what changed since, usually nothing. The poller turns the
changes into work-queue keys (manifest names, read from our ownership stamp) and leaves the
judging to the pass that follows, which re-reads everything: a change may be our own write
echoing back (sync tokens lag writes by design), or a real out-of-band edit.

It asks for the fields a pass lists (:data:`~reconciler.apply.gateway.PERSON_FIELDS`): a sync
token may only be used with the parameters of the listing that gave it (Google's rule, which the
emulator enforces), and the token comes from the account's last full listing, a pass's own
(:meth:`~reconciler.controller.liveindex.LiveIndex.relist`). So the account needs no listing of
the poller's own: the first pass's listing takes the token exactly when it reads the book, and
every full pass after it takes a fresh one. Until then there is nothing to poll: that pass reads
everything anyway. A tombstone has no stamp, so the poller remembers which resource name carries
which key.

Our own writes echo back too: a person whose resource name and etag are the ones our last write
of it answered changed only because we changed it, and queues nothing; a write by anyone else
after ours carries another etag. The resource name -> key index, our writes' etags and the sync
token are the account's :class:`~reconciler.controller.liveindex.LiveIndex`, shared with its
passes.

An expired token (Google keeps them seven days; the client raises ``SyncTokenExpired`` for both
the 400 and the 410 forms) means changes may have been missed: the caller runs a full pass,
whose listing takes a fresh token. (A full pass every resync interval keeps tokens young.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.apply.gateway import PERSON_FIELDS
from reconciler.controller.liveindex import LiveIndex
from reconciler.people.errors import SyncTokenExpired

__all__ = ["POLL_FIELDS", "LivePoller", "Poll"]

POLL_FIELDS = PERSON_FIELDS
"""The mask of the listing whose sync token the polls use: a pass's (see the module)."""


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
    """What one poll found: ``keys`` changed; ``resync`` when only a full pass can tell (the
    token expired, or there is none)."""

    keys: frozenset[str] = frozenset()
    resync: bool = False
    changed: int = 0  # people in the answer, ours or not


@dataclass
class LivePoller:
    """Polls one account from the sync token of its last listing and folds what it lists into
    the account's index."""

    client: Lister
    owner: str
    # The account's live index (shared with its passes): the resource name -> key index, our
    # own writes' etags, and the sync token.
    written: LiveIndex = field(default_factory=LiveIndex)

    @property
    def token(self) -> str | None:
        """Where the next poll takes up; ``None`` until a full listing gave one."""
        return self.written.sync_token

    async def poll(self) -> Poll:
        """Changes since the last listing, as keys; ``resync`` when there is no usable token."""
        self.written.compact()
        token = self.written.sync_token
        if token is None:
            return Poll(resync=True)
        try:
            listing = await self.client.list_people(POLL_FIELDS, sync_token=token)
        except SyncTokenExpired:
            if self.written.sync_token == token:  # not replaced by a listing meanwhile
                self.written.sync_token = None
            return Poll(resync=True)
        keys: set[str] = set()
        for person in listing.people:
            ours = self.written.echoes(person)
            key = self.written.fold(person, self.owner)
            if key is not None and not ours:
                keys.add(key)
        if self.written.sync_token == token:  # a pass's listing meanwhile is newer: keep it
            self.written.sync_token = listing.next_sync_token or token
        return Poll(keys=frozenset(keys), changed=len(listing.people))

    def resource_names(self, keys: Iterable[str]) -> dict[str, str] | None:
        """Manifest name -> resource name for every key, or ``None`` if one is unknown or
        carried by more than one contact (then only a full listing can say what is live)."""
        return self.written.resource_names(keys)

    @property
    def known(self) -> int:
        """How many of our contacts the index knows."""
        return self.written.known
