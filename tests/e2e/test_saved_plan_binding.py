"""A saved plan is bound to the target, address book and owner it was made for.

Applying it anywhere else is refused with exit 1 before anything is written; the write count
comes from the emulator's own statistics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator import BackgroundServer
from tests.support.cli import invoke
from tests.support.manifests import write_tree

WRITE_WORDS = ("create", "update", "delete", "modify")


def _writes(server: BackgroundServer) -> int:
    stats: dict[str, Any] = httpx.get(server.url + "/__emulator/stats").json()
    return sum(
        count
        for method, count in stats["by_method"].items()
        if any(word in method.lower() for word in WRITE_WORDS)
    )


def _contacts(server: BackgroundServer, user: str) -> list[Any]:
    dump: dict[str, Any] = httpx.get(server.url + "/__emulator/dump").json()
    for name, book in dump.get("users", dump).items():
        if name == user:
            return list(book.get("contacts", book.get("people", [])))
    return []


def _save_plan(tmp_path: Path, server: BackgroundServer, *extra: str) -> None:
    write_tree(tmp_path / "m", range(2))
    planned = invoke(
        "plan", "--target", server.url, "--token", "user:alice", "--out", "plan.json", *extra,
        "m", cwd=tmp_path,
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output


@pytest.mark.parametrize(
    ("where", "says"),
    [
        (("--token", "user:bob"), "address book"),
        (("--token", "user:alice", "--owner", "someone-else"), "owner"),
    ],
)
def test_a_saved_plan_applied_elsewhere_is_refused_and_writes_nothing(
    tmp_path: Path, emulator_server: BackgroundServer, where: tuple[str, ...], says: str
) -> None:
    """A plan saved for alice's address book (owner "reconciler") and applied with bob's token,
    or under another owner, exits 1 naming what differs, and sends no write at all."""
    _save_plan(tmp_path, emulator_server)
    before = _writes(emulator_server)
    applied = invoke(
        "apply", "--auto-approve", "--target", emulator_server.url, *where, "plan.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert applied.exit_code == 1, applied.output
    assert says in applied.output
    assert "plan again" in applied.output
    assert _writes(emulator_server) == before
    assert _contacts(emulator_server, "bob") == []


def test_a_saved_plan_applied_to_another_target_is_refused(
    tmp_path: Path, emulator_server: BackgroundServer, state_home: Path
) -> None:
    """A plan saved against an http emulator is refused on the embedded target before the
    embedded address book is even opened."""
    _save_plan(tmp_path, emulator_server)
    applied = invoke("apply", "--auto-approve", "--token", "user:alice", "plan.json", cwd=tmp_path)
    assert applied.exit_code == 1, applied.output
    assert "target" in applied.output
    assert not list(state_home.rglob("*.sqlite3"))


def test_a_saved_plan_applies_where_it_was_made(
    tmp_path: Path, emulator_server: BackgroundServer
) -> None:
    """The same plan applied with the same target, token and owner creates its contacts in
    alice's address book, and the file records where it belongs."""
    _save_plan(tmp_path, emulator_server)
    binding = json.loads((tmp_path / "plan.json").read_text())["binding"]
    assert binding["target"] == emulator_server.url
    assert binding["account"].startswith("people/")
    assert "token" not in json.dumps(binding)
    applied = invoke(
        "apply", "--auto-approve", "--target", emulator_server.url, "--token", "user:alice",
        "plan.json", cwd=tmp_path,
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert len(_contacts(emulator_server, "alice")) == 2
    assert _contacts(emulator_server, "bob") == []
