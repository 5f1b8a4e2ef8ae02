"""The create journal survives crashes and keeps one writer per account."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.executor import ItemResult
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal, JournalLocked
from reconciler.clock import ManualClock
from reconciler.statedir import StateDir
from tests.support.eventually import LIMIT
from tests.support.loopfree import LoopWitness
from tests.support.manifests import book
from tests.support.world import Hook, World


async def test_intents_and_answers_survive_a_reopen(tmp_path: Path) -> None:
    """What was journaled before a crash is there after it; forgotten entries are gone."""
    path = tmp_path / "j.jsonl"
    with CreateJournal(path, clock=ManualClock(start=100.0)) as journal:
        await journal.intend(["a", "b", "c"])
        await journal.created([("a", "people/c1")])
        await journal.forget(["c"])
    with CreateJournal(path) as journal:
        assert journal.resource_names() == {"a": "people/c1"}
        assert set(journal.unresolved()) == {"b"}
        assert journal.unresolved()["b"].at == 100.0


async def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    """A crash in the middle of an append loses only that line, never the earlier ones."""
    path = tmp_path / "j.jsonl"
    with CreateJournal(path) as journal:
        await journal.intend(["a"])
    with path.open("a") as f:
        f.write('{"op":"created","key":"a","rn":"peo')
    with CreateJournal(path) as journal:
        assert set(journal.unresolved()) == {"a"}


def _try_lock(path: str, queue: multiprocessing.Queue[str]) -> None:
    try:
        with CreateJournal(Path(path)):
            queue.put("locked")
    except JournalLocked:
        queue.put("refused")


def test_a_second_writer_for_the_same_account_is_refused(tmp_path: Path) -> None:
    """Only one process writes to an account at a time; the lock is released on exit."""
    path = tmp_path / "j.jsonl"
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    with CreateJournal(path):
        proc = ctx.Process(target=_try_lock, args=(str(path), queue))
        proc.start()
        proc.join(10)
        assert queue.get(timeout=LIMIT) == "refused"
    proc = ctx.Process(target=_try_lock, args=(str(path), queue))
    proc.start()
    proc.join(10)
    assert queue.get(timeout=LIMIT) == "locked"


def test_journal_names_hold_no_account_or_token(tmp_path: Path) -> None:
    """The file name is a digest: neither the account nor a token appears in it."""
    state = StateDir.at(tmp_path)
    path = state.journal(target="http://x", account="user:alice@example.com", owner="o")
    assert "alice" not in path.name
    assert path.is_relative_to(tmp_path.resolve())
    assert path != state.journal(target="http://x", account="user:bob@x", owner="o")
    assert path != state.journal(target="http://y", account="user:alice@example.com", owner="o")
    assert path != state.journal(target="http://x", account="user:alice@example.com", owner="p")


async def test_writing_outside_the_context_is_an_error(tmp_path: Path) -> None:
    """The journal is only written under the account's lock."""
    with pytest.raises(RuntimeError):
        await CreateJournal(tmp_path / "j.jsonl").intend(["a"])


class RecordingGateway(ClientGateway):
    """Notes when each batch create is sent, beside the journal's fsyncs."""

    def __init__(self, client: Any, events: list[str]) -> None:
        super().__init__(client)
        self.events = events

    async def batch_create(
        self, bodies: Sequence[dict[str, Any]], *, before_send: Hook
    ) -> list[ItemResult]:
        async def send() -> None:
            await before_send()
            self.events.append("send")  # the call leaves now

        return await super().batch_create(bodies, before_send=send)


async def test_the_fsync_runs_off_the_loop_and_before_the_create_is_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An fsync takes milliseconds the event loop must not stall for: while one is under way
    the loop keeps running other work (here, the work that lets the fsync finish), and a
    create is still sent only once its intent is on disk."""
    events: list[str] = []
    real_fsync = os.fsync
    witness = LoopWitness(asyncio.get_running_loop())

    def fsync(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}") == str(world.journal_path):
            witness.confirm()
            events.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = await world.apply(book(3), gateway=RecordingGateway(world.client, events))
    assert result.converged, result.to_json()
    assert not witness.stalled, "an fsync of the journal blocked the event loop"
    assert witness.free
    assert "send" in events
    assert events.index("fsync") < events.index("send")


def test_opening_a_clean_journal_rewrites_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A controller opens every account's journal at start; one with nothing to drop (new, or
    holding only live entries) is not rewritten, so opening it costs no fsync."""
    path = tmp_path / "j.jsonl"
    path.write_text('{"op":"intent","key":"a","at":1.0}\n')
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with CreateJournal(tmp_path / "new.jsonl"), CreateJournal(path) as journal:
        assert set(journal.unresolved()) == {"a"}
    assert synced == []
    path.write_text(path.read_text() + '{"op":"forget","key":"a"}\n')
    with CreateJournal(path) as journal:  # superseded lines: compacted
        assert journal.entries == {}
    assert len(synced) == 1
    assert path.read_text() == ""
