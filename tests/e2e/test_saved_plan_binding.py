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


def _edit(tmp_path: Path) -> None:
    """Someone changes the manifests after the plan was saved."""
    (tmp_path / "m" / "extra.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: extra}\n"
        "spec:\n  names: [{givenName: Extra}]\n"
    )


def test_a_saved_plan_whose_manifests_changed_since_is_refused(
    tmp_path: Path, emulator_server: BackgroundServer
) -> None:
    """The plan records the manifests it was made from and their revision; applying it after
    they changed exits 1 naming both revisions and the way out, and writes nothing. Applied
    from another folder, where its manifests are not, it is refused too."""
    _save_plan(tmp_path, emulator_server)
    _edit(tmp_path)
    before = _writes(emulator_server)
    argv = ("apply", "--target", emulator_server.url, "--token", "user:alice", "plan.json")
    applied = invoke(*argv, cwd=tmp_path)
    assert applied.exit_code == 1, applied.output
    assert "the manifests changed since the plan was made" in applied.output
    assert "--ignore-manifest-changes" in applied.output
    assert _writes(emulator_server) == before
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "plan.json").write_bytes((tmp_path / "plan.json").read_bytes())
    moved = invoke(*argv, cwd=elsewhere)
    assert moved.exit_code == 1, moved.output
    assert "not found" in moved.output
    assert _writes(emulator_server) == before


def test_a_saved_plan_of_unchanged_manifests_applies_and_the_flag_overrides(
    tmp_path: Path, emulator_server: BackgroundServer
) -> None:
    """Unchanged manifests (content, or the same git commit) let the plan apply; after a change,
    --ignore-manifest-changes applies the plan exactly as it was reviewed."""
    _save_plan(tmp_path, emulator_server)
    argv = ("apply", "--target", emulator_server.url, "--token", "user:alice", "plan.json")
    applied = invoke(*argv, cwd=tmp_path)
    assert applied.exit_code == 0, applied.output
    assert len(_contacts(emulator_server, "alice")) == 2
    _save_plan(tmp_path, emulator_server, "--prune")
    _edit(tmp_path)
    forced = invoke(*argv[:-1], "--ignore-manifest-changes", "plan.json", cwd=tmp_path)
    assert forced.exit_code == 0, forced.output
    assert len(_contacts(emulator_server, "alice")) == 2  # the plan, not the edit


def test_the_override_flag_needs_a_saved_plan(tmp_path: Path) -> None:
    """--ignore-manifest-changes with manifests (no plan file) is refused: nothing to ignore."""
    write_tree(tmp_path / "m", range(1))
    applied = invoke("apply", "--auto-approve", "--ignore-manifest-changes", "m", cwd=tmp_path)
    assert applied.exit_code == 1, applied.output
    assert "saved plan" in applied.output


def test_a_new_commit_with_the_same_manifests_does_not_stop_the_plan(
    tmp_path: Path, emulator_server: BackgroundServer
) -> None:
    """What is compared is the manifests' content, not the commit: a plan made on a pull
    request's merge ref applies after a squash merge (a new commit, the same files)."""
    git = tmp_path / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    _save_plan(tmp_path, emulator_server)
    assert json.loads((tmp_path / "plan.json").read_text())["revision"] == "a" * 40
    (git / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    applied = invoke(
        "apply", "--target", emulator_server.url, "--token", "user:alice", "plan.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert applied.exit_code == 0, applied.output
    assert len(_contacts(emulator_server, "alice")) == 2
