"""The state directory: one per user by default, never the working directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reconciler.statedir import StateDir, default_state_dir


def test_the_default_follows_xdg_and_ignores_a_relative_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$XDG_STATE_HOME/reconciler when it is absolute; ~/.local/state/reconciler otherwise
    (the XDG spec says a relative value is invalid), whatever the working directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "reconciler"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for value in ("relative/dir", ""):
        monkeypatch.setenv("XDG_STATE_HOME", value)
        assert default_state_dir() == tmp_path / "home" / ".local" / "state" / "reconciler"
    monkeypatch.chdir(tmp_path)
    assert StateDir.at().root == tmp_path / "home" / ".local" / "state" / "reconciler"


def test_journals_are_keyed_by_target_account_and_owner(tmp_path: Path) -> None:
    """Each (target, account, owner) has its own journal; an embedded target is keyed by its
    state file, so two embedded address books never share one."""
    state = StateDir.at(tmp_path)
    a = state.journal(target="embedded", account="default", owner="o")
    other_file = StateDir.at(tmp_path, embedded=tmp_path / "other.sqlite3")
    assert other_file.journal(target="embedded", account="default", owner="o") != a
    assert other_file.embedded_state == (tmp_path / "other.sqlite3").resolve()
    assert state.embedded_state == tmp_path.resolve() / "embedded.sqlite3"


def test_the_instance_id_is_made_once_and_kept(tmp_path: Path) -> None:
    """Concurrent first uses agree on one id, and later uses return it."""
    state = StateDir.at(tmp_path / "fresh")
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: state.instance_id(), range(16)))
    assert len(ids) == 1
    assert StateDir.at(tmp_path / "fresh").instance_id() in ids
    assert StateDir.at(tmp_path / "other").instance_id() not in ids
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir()) == ["instance-id"]
