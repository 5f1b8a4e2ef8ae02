"""Manifest edits made while a domain converges, and how long each takes to be live.

The target is "a manifest edit in any account applied within 10 s at p99 while the others
converge", so one edit says little: ``domain.py`` makes several (20 by default), spread over the
run and over accounts, and reports their spread. Edit k of E renames contact k of one account
(``givenName: Given{k}`` becomes ``Edited{k}``). It is made once k/E of the accounts have
converged, or k/E of the time limit has passed if convergence is slower (so the first is made as
soon as the controller serves), in an account not edited before while there is one, alternately
one still converging and one already converged: "an edit to an account waiting for its first
pass" and "an edit to a quiet account" are both cases of the target. Edits left when the domain
has converged are made then, and count as made after convergence. The file is written whole
and renamed over the old one, as git-sync and most editors do, so the controller never reads
half of it.

A thread reads the edited books through the emulator's admin dump (which counts no API request)
every ``every`` seconds and stamps each edit when its new name is live: the latency includes up
to ``every`` of polling.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from measures import Repeat

from reconciler.model import read_stamp


def contact_name(index: int) -> str:
    return f"person-{index:05d}"


def live_given_names(http: httpx.Client, users: list[str]) -> dict[str, dict[str, str]]:
    """Per user, manifest name -> the given name of the live contact that carries it."""
    books = http.get("/__emulator/dump", params=[("user", u) for u in users]).json()["users"]
    names: dict[str, dict[str, str]] = {}
    for user, book in books.items():
        names[user] = {}
        for person in book.get("people", []):
            stamp = read_stamp(person.get("clientData"))
            given = (person.get("names") or [{}])[0].get("givenName")
            if stamp is not None and given is not None:
                names[user][stamp.name] = str(given)
    return names


def rename_in_manifest(path: Path, index: int) -> None:
    """``givenName: Given{index},`` -> ``Edited{index}`` in ``path``, replaced atomically."""
    text = path.read_text(encoding="utf-8")
    old, new = f"givenName: Given{index},", f"givenName: Edited{index},"
    if old not in text:
        raise SystemExit(f"{path}: no {old!r} to edit")
    scratch = path.with_name(f".{path.name}.edit")  # not *.yaml: never loaded as a manifest
    scratch.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.replace(scratch, path)


@dataclass
class Edit:
    user: str
    index: int  # contact ``person-{index:05d}`` is renamed
    made: float  # time.monotonic() when the file was replaced
    made_at: float  # time.time() then, to find the edit in the controller's log
    account_converged: bool  # the account had converged when it was edited
    mid_run: bool  # some account had not converged yet when it was made
    contact_live: bool  # the contact existed, so applying the edit takes one batch update
    applied: float | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.applied is None else self.applied - self.made


@dataclass
class EditRun:
    """Makes ``count`` edits over a run (see the module docstring) and watches them land."""

    http: httpx.Client
    folder_of: Callable[[str], Path]  # user -> that account's manifests folder
    file_of: Callable[[int], str]  # contact index -> its manifest file's name
    count: int
    limit: float
    every: float = 0.25
    edits: list[Edit] = field(default_factory=list)
    _rng: random.Random = field(default_factory=lambda: random.Random(15))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._repeat = Repeat(self._watch, self.every, "edit-watch")

    def start(self) -> EditRun:
        self._repeat.start()
        return self

    def stop(self) -> None:
        self._repeat.stop()

    def due(self, converged_share: float, elapsed: float) -> int:
        """How many edits should have been made by now."""
        made = len(self.edits)
        while made < self.count:
            mark = made / self.count
            if converged_share < mark and elapsed < mark * self.limit:
                break
            made += 1
        return made - len(self.edits)

    def make_due(self, converged: list[str], pending: list[str], elapsed: float) -> None:
        """Make the edits that are due, given which accounts have converged and which not."""
        share = len(converged) / max(1, len(converged) + len(pending))
        for _ in range(self.due(share, elapsed)):
            self._make(converged, pending)

    def _make(self, converged: list[str], pending: list[str]) -> None:
        k = len(self.edits)
        edited = {e.user for e in self.edits}
        first, second = (pending, converged) if k % 2 == 0 else (converged, pending)
        fresh = [u for u in first if u not in edited] or [u for u in second if u not in edited]
        user = self._rng.choice(fresh or converged or pending)
        index = k  # a different contact each time, so two edits of one account stay apart
        live = live_given_names(self.http, [user]).get(user, {})
        path = self.folder_of(user) / self.file_of(index)
        rename_in_manifest(path, index)
        edit = Edit(
            user=user,
            index=index,
            made=time.monotonic(),
            made_at=time.time(),
            account_converged=user in converged,
            mid_run=bool(pending),
            contact_live=contact_name(index) in live,
        )
        with self._lock:
            self.edits.append(edit)

    def outstanding(self) -> list[Edit]:
        with self._lock:
            return [e for e in self.edits if e.applied is None]

    def wait(self, deadline: float) -> None:
        """Until every edit is live or ``deadline`` (monotonic) has passed."""
        while self.outstanding() and time.monotonic() < deadline:
            time.sleep(self.every)

    def _watch(self) -> None:
        """Stamp the edits whose new name is live now."""
        waiting = self.outstanding()
        if not waiting:
            return
        try:
            live = live_given_names(self.http, sorted({e.user for e in waiting}))
        except httpx.TransportError:  # a kept-alive connection the emulator closed: next tick
            return
        now = time.monotonic()
        with self._lock:
            for edit in waiting:
                if live.get(edit.user, {}).get(contact_name(edit.index)) == f"Edited{edit.index}":
                    edit.applied = now
