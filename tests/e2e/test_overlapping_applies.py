"""Applies that overlap in time: the address book's lease lets one write, the other is refused.

The runs share nothing but the emulator, served over HTTP: each has its own working directory
and state directory, as two CI runners on two machines would. The emulator's clock stands still
unless the test moves it, so the first apply, waiting for its creates to show in a listing (20 s
of listing lag), holds its lease for exactly as long as the test needs.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.lease import Lease
from reconciler.apply.lease_record import LeaseRecord, find_lease_group
from reconciler.clock import ManualClock
from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from reconciler.model.stamps import LEASE_GROUP_NAME
from reconciler.people import connect
from tests.support.cli import invoke
from tests.support.eventually import eventually
from tests.support.manifests import write_tree
from tests.support.pacing import roomy

USER = "ci@example.com"
TOKEN = f"user:{USER}"
CONTACTS = 20


@pytest.fixture
def frozen() -> Iterator[tuple[BackgroundServer, ManualClock]]:
    """An emulator over HTTP with a 20 s listing lag and a clock that moves only when told."""
    clock = ManualClock()
    with BackgroundServer(create_app(EmulatorConfig(list_lag_ms=20_000), clock=clock)) as server:
        yield server, clock


def _book(server: BackgroundServer) -> Any:
    return server.app.state.emulator.books.get(USER)


def _names(server: BackgroundServer) -> Counter[str]:
    book = _book(server)
    return Counter(
        entry["value"]
        for person in ([] if book is None else book.people.values())
        for entry in person.fields.get("clientData", [])
        if entry["key"] == "reconciler.name"
    )


def _lease(server: BackgroundServer) -> LeaseRecord | None:
    async def look() -> LeaseRecord | None:
        async with connect(server.url, token=TOKEN) as client:
            return LeaseRecord.of(await find_lease_group(client))

    return asyncio.run(look())


def _workspace(tmp_path: Path, name: str) -> Path:
    workspace = tmp_path / name
    write_tree(workspace / "m", range(CONTACTS))
    return workspace


def _apply_args(url: str, *extra: str) -> list[str]:
    return ["apply", "--auto-approve", "--target", url, "--token", TOKEN, *extra, "m"]


def _spawn(tmp_path: Path, name: str, *args: str) -> subprocess.Popen[str]:
    """``reconciler ARGS`` in a fresh interpreter, from workspace ``name`` with its own state
    directory."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *roomy(args)],
        cwd=_workspace(tmp_path, name),
        env={
            **os.environ,
            "RECONCILER_STATE_DIR": str(tmp_path / f"state-{name}"),
            "NO_COLOR": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_an_overlapping_apply_refuses_or_waits_and_nothing_is_duplicated(
    tmp_path: Path, frozen: tuple[BackgroundServer, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runner A has created the contacts and waits for the listing to show them, holding the
    lease. Runner B, from its own workspace and state directory, is refused with exit 1,
    naming A and when A's lease expires, and writes nothing; runner C, with --lock-timeout,
    waits instead. Once the listing catches up A finishes (exit 0) and gives the lease back; C
    then takes it and finds nothing to do, and so does B run again."""
    server, clock = frozen
    first = _spawn(tmp_path, "a", *_apply_args(server.url, "--visibility-timeout", "600"))
    waiting: subprocess.Popen[str] | None = None
    try:
        eventually(lambda: len(_names(server)) == CONTACTS, "runner A's creates")
        holder = eventually(lambda: _lease(server), "runner A's lease")
        assert f"pid {first.pid}" in holder.holder

        monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state-b"))
        refused = invoke(*_apply_args(server.url), cwd=_workspace(tmp_path, "b"))
        assert refused.exit_code == 1, refused.output
        assert f"pid {first.pid} until " in refused.output
        assert f"reconciler force-unlock {holder.lease_id}" in refused.output
        assert sum(_names(server).values()) == CONTACTS

        stats = server.app.state.emulator.stats.by_method
        looks = stats["people.contactGroups.list"]
        waiting = _spawn(tmp_path, "c", *_apply_args(server.url, "--lock-timeout", "600"))
        # C has looked at the lease (A, waiting on the listing, lists no groups): it is held.
        eventually(
            lambda: stats["people.contactGroups.list"] > looks, "runner C to find the lease held"
        )
        assert waiting.poll() is None
        clock.advance(30)  # the listing catches up
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, out + err
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, out + err
    finally:
        for process in (first, waiting):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert _lease(server) is None
    again = invoke(*_apply_args(server.url), cwd=tmp_path / "b")
    assert again.exit_code == 0, again.output
    names = _names(server)
    assert len(names) == CONTACTS
    assert set(names.values()) == {1}


def test_a_dead_runners_lease_is_broken_with_force_unlock(
    tmp_path: Path, frozen: tuple[BackgroundServer, ManualClock]
) -> None:
    """A lease left by a runner on another machine that died: apply is refused and names the
    command that breaks it; force-unlock with a wrong id changes nothing, with the right one it
    breaks the lease, and the apply then writes. (The emulator's clock stands still, so its
    creates never show in a listing: with --visibility-timeout 0 it says so and exits 1.)"""
    server, _clock = frozen

    async def crash_holding_the_lease() -> str:
        async with connect(server.url, token=TOKEN) as client:
            dead = Lease(
                client, lock_path=tmp_path / "gone" / "lease.lock", instance="gone",
                holder="apply (owner reconciler) by ci@gone pid 7",
            )  # fmt: skip
            await dead.acquire()
            return dead.lease_id  # never released

    lease_id = asyncio.run(crash_holding_the_lease())
    workspace = _workspace(tmp_path, "w")
    refused = invoke(*_apply_args(server.url), cwd=workspace)
    assert refused.exit_code == 1
    assert f"reconciler force-unlock {lease_id}" in refused.output
    unlock = ["force-unlock", "--target", server.url, "--token", TOKEN]
    wrong = invoke(*unlock, "0000beef", cwd=workspace)
    assert wrong.exit_code == 1
    assert "ci@gone" in wrong.output
    broken = invoke(*unlock, lease_id, cwd=workspace)
    assert broken.exit_code == 0, broken.output
    assert "ci@gone pid 7" in broken.output
    applied = invoke(*_apply_args(server.url, "--visibility-timeout", "0"), cwd=workspace)
    assert applied.exit_code == 1
    assert f"{CONTACTS} created contact(s) did not show in a listing within 0 s" in applied.output
    assert sum(_names(server).values()) == CONTACTS


def test_the_lease_group_is_never_planned_pruned_or_exported(tmp_path: Path) -> None:
    """On the embedded target: after an apply the lease group exists (released), a plan with
    --prune still has no changes, and export writes no group for it."""
    workspace = tmp_path / "w"
    write_tree(workspace / "m", range(3), groups=1)
    assert invoke("apply", "--auto-approve", "m", cwd=workspace).exit_code == 0
    planned = invoke("plan", "--prune", "--detailed-exitcode", "m", cwd=workspace)
    assert planned.exit_code == 0, planned.output
    exported = invoke("export", "--out", "out", cwd=workspace)
    assert exported.exit_code == 0, exported.output
    assert "exported 3 contacts and 1 groups" in exported.output
    written = "".join(p.read_text() for p in (workspace / "out").rglob("*.yaml"))
    assert LEASE_GROUP_NAME not in written
    assert "reconciler.lease" not in written
