"""Drift detection of several accounts polled from the replica's one schedule, end to end.

A real ``reconciler run --config`` over three accounts (one pass at a time, so passes wait for a
slot while the accounts converge) against the emulator over HTTP: after convergence, an
out-of-band edit in every account is still found and corrected, and a manifest edit applied;
``/status`` and ``/metrics`` show the interval in force.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.controller.pollschedule import POLL_SHARE
from tests.support.controller import Controller, Emulator, launch_with_config
from tests.support.eventually import eventually
from tests.support.manifests import contact_yaml
from tests.support.status_schema import validator

USERS = ("alice@example.com", "bob@example.com", "carol@example.com")
POLL = 0.3  # the launcher's --poll-interval
READS = 3000.0  # the default project read budget a minute


@pytest.fixture
def controller(tmp_path: Path, emulator_server: Any) -> Iterator[Controller]:
    lines = ["accounts:"]
    for user in USERS:
        folder = tmp_path / "m" / user.split("@")[0]
        folder.mkdir(parents=True)
        (folder / "people.yaml").write_text(contact_yaml("friend", "Friend"))
        lines.append(f"  - {{subject: {user}, manifests: {folder}}}")
    config = tmp_path / "accounts.yaml"
    config.write_text("\n".join(lines) + "\n")
    running = launch_with_config(tmp_path, emulator_server.url, config, "--concurrent-passes", "1")
    try:
        yield running
    finally:
        running.stop()


def test_out_of_band_edits_in_every_account_are_corrected_after_convergence(
    controller: Controller, emulator_server: Any, tmp_path: Path
) -> None:
    """Every account converges; then each one's contact edited behind our back is found by a
    poll and written back, and a manifest edit is applied; the effective interval is the
    launcher's 300 ms stretched to keep three accounts' polls within 10% of 3,000 reads a
    minute (0.6 s), in /status and /metrics."""
    books = {user: Emulator(emulator_server.url, user) for user in USERS}

    def all_named(given: str) -> bool:
        return all(book.given_names() == {"friend": given} for book in books.values())

    eventually(lambda: all_named("Friend"), "every account to converge")
    for book in books.values():
        book.edit(book.resource_name("friend"), "Mallory")
    eventually(lambda: all_named("Friend"), "every out-of-band edit to be corrected")
    # A correction is counted once its pass has the write's answer, after the write landed.
    eventually(
        lambda: (
            controller.metric("reconciler_drift_detected_total", policy="correct") >= len(USERS)
        ),
        "every correction to be counted",
    )

    (tmp_path / "m" / "bob" / "people.yaml").write_text(contact_yaml("friend", "Buddy"))
    eventually(lambda: books["bob@example.com"].given_names() == {"friend": "Buddy"}, "the edit")

    interval = 60.0 * len(USERS) / (POLL_SHARE * READS)
    assert interval > POLL
    status = controller.http.get(controller.base + "/status").json()
    validator().validate(status)
    assert status["polls"]["intervalSeconds"] == pytest.approx(interval)
    assert status["polls"]["configuredSeconds"] == pytest.approx(POLL)
    assert status["polls"]["accounts"] == len(USERS)
    assert controller.metric("reconciler_poll_interval_seconds") == pytest.approx(interval)
    assert controller.metric("reconciler_polls_total", result="ok") >= len(USERS)
