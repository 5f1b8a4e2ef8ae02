"""The create journal survives crashes and keeps one writer per account."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from reconciler.apply.journal import CreateJournal, JournalLocked
from reconciler.statedir import StateDir
from tests.support.eventually import LIMIT


def test_intents_and_answers_survive_a_reopen(tmp_path: Path) -> None:
    """What was journaled before a crash is there after it; forgotten entries are gone."""
    path = tmp_path / "j.jsonl"
    with CreateJournal(path, clock=lambda: 100.0) as journal:
        journal.intend(["a", "b", "c"])
        journal.created([("a", "people/c1")])
        journal.forget(["c"])
    with CreateJournal(path) as journal:
        assert journal.resource_names() == {"a": "people/c1"}
        assert set(journal.unresolved()) == {"b"}
        assert journal.unresolved()["b"].at == 100.0


def test_a_torn_last_line_is_ignored(tmp_path: Path) -> None:
    """A crash in the middle of an append loses only that line, never the earlier ones."""
    path = tmp_path / "j.jsonl"
    with CreateJournal(path) as journal:
        journal.intend(["a"])
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


def test_writing_outside_the_context_is_an_error(tmp_path: Path) -> None:
    """The journal is only written under the account's lock."""
    with pytest.raises(RuntimeError):
        CreateJournal(tmp_path / "j.jsonl").intend(["a"])
