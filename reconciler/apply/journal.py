"""The create journal: how an apply never creates the same contact twice.

Creates are the one People API write that is not idempotent: there is no client-chosen id and no
upsert, so a create retried after a lost answer, or re-run after a crash, makes a duplicate. Two
ways out were considered:

* **A stamp lookup before creating.** Every contact we create carries its ownership stamp
  (:mod:`reconciler.model.stamps`), so a listing finds it... eventually. Listings (and
  ``searchContacts``) lag new contacts by an unpublished amount of time, and the moment a lookup
  is most needed (a retry right after a lost answer, a re-run right after a crash) is exactly when
  the lag bites. A lookup alone creates the duplicate it is meant to prevent.
* **A journal of intents in the state directory** (:mod:`reconciler.statedir`, one file per
  target, account and owner), written and fsync'ed *before* the create is sent.
  This is what we do, and it is combined with the stamp lookup rather than replacing it:

  1. right before ``batchCreateContacts`` leaves (after any wait behind the pacer), append
     ``intent`` for each manifest name, dated then: the settle time (step 4) counts from it;
  2. when the answer arrives, append ``created`` with the resource name the server chose;
  3. on every later read of live state, a journaled resource name that the listing does not show
     yet is fetched by name (``getBatchGet`` does not lag the way listings do), so a lagging
     listing never looks like a missing contact; once the listing shows it, the entry is dropped;
  4. an ``intent`` without a resource name (the answer was lost, or the process died between
     sending and recording) is resolved by the stamp lookup in the listing. Until the listing is
     trusted to show it (``settle`` seconds after the intent), the name is *pending*: never
     created again, reported as not yet converged, and retried after the settle time.

A crash can only lose the ``created`` line (step 2), which step 4 recovers; it cannot lose the
``intent`` (step 1), because nothing is sent before that line is on disk. The journal holds only
manifest names, resource names and times: no personal data.

Appends are written and fsync'ed in a worker thread (an fsync takes milliseconds, and a
controller's event loop serves every account and its probes): :meth:`CreateJournal.intend`
returns only once the intents are on disk, so the guarantee holds, without blocking the loop.
Appends go to the file one at a time, in the order they were made.

The journal is also the account's write lock on this machine: an exclusive ``flock`` held for
the whole apply keeps to Google's rule of one writer per account across processes, and the
kernel drops it when a process dies, so a SIGKILL never leaves a stale lock behind. Writers on
other machines are kept out by the lease in the address book (:mod:`reconciler.apply.lease`).
The journal only sees creates made from the same state directory; what makes them safe for
everyone else is that an apply waits until its creates show in a listing
(:mod:`reconciler.apply.visibility`).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from reconciler.clock import Clock, SystemClock


class JournalLocked(RuntimeError):
    """Another process is writing to this account right now."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A create we sent: ``resource_name`` is None until its answer was recorded."""

    key: str
    at: float
    resource_name: str | None = None


class CreateJournal:
    """An append-only, fsync'ed record of creates in flight for one account.

    Use as a context manager: entering takes the account's write lock (non-blocking; raises
    :class:`JournalLocked` when another process holds it) and loads the entries.
    """

    def __init__(self, path: Path, *, clock: Clock | None = None, readonly: bool = False) -> None:
        self.path = path
        self._clock = clock or SystemClock()  # the engine's: it compares these times with its own
        self.readonly = readonly
        self._entries: dict[str, JournalEntry] = {}
        self._file: IO[str] | None = None
        self._appending: asyncio.Lock | None = None  # one append at a time, in order

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self.readonly:
            # A plan reads the journal to see past listing lag, but takes no lock and writes
            # nothing: planning while an apply runs is fine.
            text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
            self._entries = _fold(text.splitlines())
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = self.path.open("a+", encoding="utf-8")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                handle.close()
                raise JournalLocked(
                    f"{self.path}: another apply is writing to this account; wait for it to finish"
                ) from error
            # A holder may have compacted (replaced) the file between our open and our lock.
            if self.path.exists() and os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
            handle.close()
        self._file = handle
        handle.seek(0)
        lines = handle.read().splitlines()
        self._entries = _fold(lines)
        if len(lines) > len(self._entries):  # lines to drop (a controller opens every account
            self._compact()  # at start: a clean journal costs it no rewrite and no fsync)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None

    # -- queries -------------------------------------------------------------------------------

    @property
    def entries(self) -> dict[str, JournalEntry]:
        return dict(self._entries)

    def resource_names(self) -> dict[str, str]:
        """Manifest name -> resource name, for creates whose answer we recorded."""
        return {k: e.resource_name for k, e in self._entries.items() if e.resource_name}

    def unresolved(self) -> dict[str, JournalEntry]:
        """Creates whose answer we never saw."""
        return {k: e for k, e in self._entries.items() if e.resource_name is None}

    # -- writes --------------------------------------------------------------------------------

    async def intend(self, keys: Iterable[str]) -> None:
        """Record that creates for ``keys`` are about to be sent; returns once it is on disk."""
        now = self._clock.now()
        records = []
        for key in keys:
            self._entries[key] = JournalEntry(key, now)
            records.append({"op": "intent", "key": key, "at": now})
        await self._append(records)

    async def created(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record the resource names the server answered with."""
        records = []
        for key, resource_name in pairs:
            at = self._entries[key].at if key in self._entries else self._clock.now()
            self._entries[key] = JournalEntry(key, at, resource_name)
            records.append({"op": "created", "key": key, "rn": resource_name, "at": at})
        await self._append(records)

    async def forget(self, keys: Iterable[str]) -> None:
        """Drop entries: the listing shows them now, or the create is known not to have happened."""
        records: list[dict[str, object]] = [
            {"op": "forget", "key": k} for k in keys if self._entries.pop(k, None)
        ]
        await self._append(records)

    async def _append(self, records: list[dict[str, object]]) -> None:
        """Serialise, write and fsync ``records`` off the event loop (a settled first pass
        forgets a thousand entries at once); appends keep their order."""
        if not records or self.readonly:
            return
        if self._file is None:
            raise RuntimeError("the journal is not open; use it as a context manager")
        if self._appending is None:
            self._appending = asyncio.Lock()
        async with self._appending:
            await asyncio.to_thread(_write_durably, self._file, records)

    def _compact(self) -> None:
        """Rewrite the file with only the live entries (atomically, under the lock we hold)."""
        assert self._file is not None
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as out:
            for e in self._entries.values():
                out.write(json.dumps(_record(e), separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        # The lock lives on the open file description, not the name: take it on the new file
        # before replacing the old one so that no second process can slip in between.
        new = tmp.open("a+", encoding="utf-8")
        fcntl.flock(new.fileno(), fcntl.LOCK_EX)
        os.replace(tmp, self.path)
        self._file.close()
        self._file = new


def _write_durably(handle: IO[str], records: list[dict[str, object]]) -> None:
    handle.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    handle.flush()
    os.fsync(handle.fileno())


def _record(entry: JournalEntry) -> dict[str, object]:
    if entry.resource_name is None:
        return {"op": "intent", "key": entry.key, "at": entry.at}
    return {"op": "created", "key": entry.key, "rn": entry.resource_name, "at": entry.at}


def _fold(lines: Iterable[str]) -> dict[str, JournalEntry]:
    """Replay the log. A torn last line (a crash mid-write) is ignored: its create was not sent."""
    entries: dict[str, JournalEntry] = {}
    for line in lines:
        try:
            record = json.loads(line)
            op, key = record["op"], str(record["key"])
        except (ValueError, KeyError, TypeError):
            continue
        if op == "intent":
            entries[key] = JournalEntry(key, float(record["at"]))
        elif op == "created":
            entries[key] = JournalEntry(key, float(record["at"]), str(record["rn"]))
        elif op == "forget":
            entries.pop(key, None)
    return entries
