"""What an account remembers of its live contacts between passes: one small record each.

A pass re-reads the live address book (level-triggered), so between passes an account needs
only what no read can tell it, kept per resource name in one place:

- ``key``: the manifest name our stamp carries. A tombstone has no stamp, and a scoped pass
  reads a few contacts by resource name, so the poller needs the name -> key index.
- ``etag``: what our last write of the contact answered. An incremental listing that returns
  a contact with that etag is our own write echoing back, not someone's edit (sync tokens lag
  writes by minutes); a version with another etag, or a tombstone, proves the server is past
  our write, and the record forgets it, so no pass sends our old etag again.
- the sync token of the account's last full listing (a pass's own) or incremental poll, where
  the next poll takes up: one token for both, so a pass's listing is as good as a poll.
- ``answer``: the whole answer of our last write, for ``hold`` seconds only. Reads lag writes:
  a listing taken just after our write may return the previous version, and planning against
  it would write the same change again, so the engine plans against our copy instead (see
  :func:`reconciler.apply.live.fresher`). It is kept as compressed JSON (~650 bytes rather
  than ~10 KiB of decoded dicts for a contact with every field; as decoded until the pass
  ends, then encoded in the planner thread, see :meth:`LiveIndex.pack`) and decoded only
  when a pass asks for it; after ``hold`` (far longer than a listing lags a write) only the
  etag stays.

Measured (tracemalloc, 20 accounts x 200 contacts): the whole decoded answers were ~10.7 KiB a
contact while young and the etags and keys a few hundred bytes; a record here is ~300 bytes at
rest and ~1 KiB while its answer is young.

To the apply engine the index is a mapping of resource name -> our last write's answer (the
young ones): ``converge(written=...)`` reads and extends it like the dict it takes.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from reconciler.apply.live import update_time
from reconciler.apply.planner import in_planner
from reconciler.clock import Clock, SystemClock
from reconciler.model import read_stamp
from reconciler.model.inputs import Person

__all__ = ["HOLD_SECONDS", "LiveIndex"]

HOLD_SECONDS = 30.0


def _compress_all(answers: Mapping[str, Person]) -> dict[str, bytes]:
    return {
        name: zlib.compress(json.dumps(a, separators=(",", ":"), ensure_ascii=False).encode(), 1)
        for name, a in answers.items()
    }


class _Record:
    """One live contact of the account; every field may be unknown (``None``)."""

    __slots__ = ("answer", "at", "etag", "key", "updated")

    def __init__(self) -> None:
        self.key: str | None = None  # manifest name in our stamp
        self.etag: str | None = None  # what our last write of it answered
        self.updated: str | None = None  # that answer's updateTime, while it is kept
        self.answer: bytes | Person | None = None  # that answer, compressed JSON, while young
        self.at = 0.0  # when that answer was kept (the index's clock)


class LiveIndex(MutableMapping[str, Person]):
    """Resource name -> what the account knows of that live contact (see the module).

    As a mapping it holds our writes' answers while they are young: ``index[name] = answer``
    records a write, ``index[name]`` decodes it, ``del index[name]`` forgets the write (its
    etag too) but not the contact's key. Reading it so is safe from another thread (a pass may
    fold its listing in a worker thread) while the event loop changes it: reads take the
    records dict whole (one C call under the GIL) and each answer once.
    """

    def __init__(self, *, hold: float = HOLD_SECONDS, clock: Clock | None = None) -> None:
        self.hold = hold
        self.clock = clock or SystemClock()  # the account's
        self._records: dict[str, _Record] = {}
        self.sync_token: str | None = None  # where the next incremental poll takes up
        self.listings = 0  # full listings folded in (see ``relist``)

    # -- our writes (the engine's mapping) ---------------------------------------------------

    def __setitem__(self, name: str, answer: Person) -> None:
        record = self._record(name)
        etag = answer.get("etag")
        record.etag = str(etag) if etag else None
        record.updated = update_time(answer)
        record.answer = answer  # as decoded, until ``pack`` (the pass holds it anyway)
        record.at = self.clock.now()

    def __getitem__(self, name: str) -> Person:
        record = self._records.get(name)
        answer = record.answer if record is not None else None
        if answer is None:
            raise KeyError(name)
        if isinstance(answer, dict):
            return answer
        person: Person = json.loads(zlib.decompress(answer))
        return person

    async def pack(self) -> None:
        """Encode and compress the answers recorded since the last call, in the planner thread.

        On the event loop this was a ``json.dumps`` and a ``zlib`` call per answer, and each
        ``zlib`` call gives up the GIL: with the planner busy, a wait to get it back. Timed at
        100 x 200 on a loaded machine, recording a pass's 200 answers held the loop 17.5 ms at
        p50 and 120 ms at most. The planner packs them all in one go instead, and the loop
        keeps each result unless a newer write replaced the answer meanwhile.
        """
        raw = {n: r.answer for n, r in self._records.items() if isinstance(r.answer, dict)}
        if not raw:
            return
        packed = await in_planner(_compress_all, raw)
        for name, answer in raw.items():
            record = self._records.get(name)
            if record is not None and record.answer is answer:
                record.answer = packed[name]

    def __delitem__(self, name: str) -> None:
        record = self._records.get(name)
        if record is None or record.answer is None:
            raise KeyError(name)
        self.retire(name)

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, record in list(self._records.items()) if record.answer])

    def __len__(self) -> int:
        return sum(1 for record in list(self._records.values()) if record.answer)

    def etag(self, name: str) -> str | None:
        """The etag our last write of ``name`` answered, if we remember one."""
        record = self._records.get(name)
        return record.etag if record is not None else None

    @property
    def etags(self) -> dict[str, str]:
        """Resource name -> the etag our last write of it answered."""
        return {name: r.etag for name, r in self._records.items() if r.etag}

    def retire(self, name: str) -> None:
        """The server is past our write of ``name``: forget the write (the key stays)."""
        record = self._records.get(name)
        if record is None:
            return
        record.etag = record.updated = record.answer = None
        self._drop_if_empty(name, record)

    def compact(self) -> None:
        """Keep only the etag of each write whose answer is older than ``hold``."""
        now = self.clock.now()
        for record in self._records.values():
            if record.answer is not None and now - record.at >= self.hold:
                record.answer = record.updated = None

    def echoes(self, person: Mapping[str, Any]) -> bool:
        """``person`` is as our last write left it (same etag): its change is our own.

        A version newer than our write, or a tombstone, proves the server is past it: the
        write is retired, so that no pass sends its etag again. (Of an older write only the
        etag is kept: any other etag is then newer, since listings lag writes by far less.)
        """
        name = str(person.get("resourceName") or "")
        record = self._records.get(name)
        if record is None or record.etag is None:
            return False
        if person.get("etag") and record.etag == person.get("etag"):
            return True
        deleted = bool((person.get("metadata") or {}).get("deleted"))
        if deleted or record.updated is None or update_time(person) >= record.updated:
            self.retire(name)
        return False

    # -- the stamp's keys (the poller's index) -----------------------------------------------

    def fold(self, person: Mapping[str, Any], owner: str) -> str | None:
        """Fold one listed person into the key index; return the key it concerns, if ours."""
        name = str(person.get("resourceName") or "")
        if not name:
            return None
        record = self._records.get(name)
        was = record.key if record is not None else None
        stamp = None
        if not (person.get("metadata") or {}).get("deleted"):
            stamp = read_stamp(person.get("clientData"))
        if stamp is None or stamp.owner != owner:  # gone, or someone removed our stamp
            if record is not None:
                record.key = None
                self._drop_if_empty(name, record)
            return was
        record = record or self._record(name)
        record.key = sys.intern(stamp.name)
        return record.key

    def relist(
        self, people: Iterable[Mapping[str, Any]], owner: str, sync_token: str | None
    ) -> None:
        """A full listing was read: rebuild the key index from it and keep its sync token, so
        that the next incremental poll starts where the listing stood and no change made after
        it goes unseen (nor one before it: the listing showed those)."""
        for name, record in list(self._records.items()):
            record.key = None
            self._drop_if_empty(name, record)
        for person in people:
            self.fold(person, owner)
        self.sync_token = sync_token
        self.listings += 1

    def resource_names(self, keys: Iterable[str]) -> dict[str, str] | None:
        """Manifest name -> resource name for every key, or ``None`` if one is unknown or
        carried by more than one contact (then only a full listing can say what is live)."""
        wanted = set(keys)
        found: dict[str, str] = {}
        for name, record in self._records.items():
            if record.key in wanted:
                if record.key in found:
                    return None
                found[record.key] = name
        return found if len(found) == len(wanted) else None

    @property
    def known(self) -> int:
        """How many of our contacts the key index knows."""
        return sum(1 for record in self._records.values() if record.key is not None)

    def _record(self, name: str) -> _Record:
        """The record of ``name``, a new one if there is none (names interned: the status
        holds the same resource names and keys, kept once)."""
        record = self._records.get(name)
        if record is None:
            record = self._records[sys.intern(name)] = _Record()
        return record

    def _drop_if_empty(self, name: str, record: _Record) -> None:
        if record.key is None and record.etag is None and record.answer is None:
            del self._records[name]
