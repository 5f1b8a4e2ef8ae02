"""Applies from fresh CI workspaces never create a contact twice, whatever the listing lag.

Each apply runs from its own working directory with its own state directory, as fresh CI
runners do, against one emulator over HTTP whose listing shows a new contact only 20 seconds
(emulator time) after its create. Emulator time moves 10 seconds per listing page served
(:mod:`tests.support.listing_clock`), so the lag is real to every client but costs no waiting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.clock import ManualClock
from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from tests.support.cli import invoke
from tests.support.listing_clock import ListingTicks
from tests.support.manifests import write_tree

USER = "ci@example.com"
CONTACTS = 50


@pytest.fixture
def lagging() -> Iterator[tuple[BackgroundServer, ListingTicks]]:
    """An emulator over HTTP with a 20 s listing lag and a clock that moves 10 s per listing."""
    clock = ManualClock()
    app = ListingTicks(create_app(EmulatorConfig(list_lag_ms=20_000), clock=clock), clock, 10.0)
    with BackgroundServer(app) as server:  # type: ignore[arg-type]
        yield server, app


def _names(app: ListingTicks) -> Counter[str]:
    book = app.state.emulator.books.get(USER)
    people = [] if book is None else list(book.people.values())
    return Counter(
        entry["value"]
        for person in people
        for entry in person.fields.get("clientData", [])
        if entry["key"] == "reconciler.name"
    )


def _apply_from_fresh_workspace(
    tmp_path: Path, url: str, run: int, monkeypatch: pytest.MonkeyPatch
) -> int:
    workspace = tmp_path / f"workspace-{run}"
    write_tree(workspace / "manifests", range(CONTACTS))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / f"state-{run}"))
    result = invoke(
        "apply", "--auto-approve", "--target", url, "--token", f"user:{USER}", "manifests",
        cwd=workspace,
    )  # fmt: skip
    return int(result.exit_code)


def test_ten_applies_from_fresh_workspaces_create_each_contact_once(
    tmp_path: Path,
    lagging: tuple[BackgroundServer, ListingTicks],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten sequential applies, each from a fresh working directory and state directory, under
    a 20 s listing lag: every manifest exists exactly once, and every apply exits 0."""
    server, app = lagging
    codes = [
        _apply_from_fresh_workspace(tmp_path, server.url, run, monkeypatch) for run in range(10)
    ]
    names = _names(app)
    assert set(names) == {f"person-{i:04d}" for i in range(CONTACTS)}
    assert set(names.values()) == {1}, f"duplicates: {sum(names.values()) - CONTACTS}"
    assert codes == [0] * 10
