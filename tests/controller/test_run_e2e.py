"""`reconciler run` end to end: the real command in a subprocess against the emulator over HTTP.

Intervals are short so that each test takes seconds; nothing asserts how long anything took,
every wait polls with a generous limit.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.controller import (
    Controller,
    Emulator,
    contact,
    launch_controller,
)
from tests.support.eventually import eventually

GENEROUS = 60.0


@pytest.fixture
def start(
    tmp_path: Path, emulator: Emulator, manifests: Path
) -> Iterator[Callable[..., Controller]]:
    running: list[Controller] = []

    def launch(*extra: str) -> Controller:
        controller = launch_controller(
            tmp_path, emulator, manifests, *extra, name=f"controller-{len(running)}"
        )
        running.append(controller)
        return controller

    yield launch
    for controller in running:
        controller.stop()


def converged(emulator: Emulator, expected: dict[str, str]) -> Callable[[], bool]:
    return lambda: emulator.given_names() == expected


def test_a_manifest_edit_converges_after_the_debounce(
    start: Callable[..., Controller], emulator: Emulator, manifests: Path
) -> None:
    """The first pass creates the contacts; an edited file is applied without a resync."""
    controller = start()
    eventually(controller.ready, "readiness")
    assert controller.http.get(controller.base + "/healthz").status_code == 200
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    (manifests / "people.yaml").write_text(
        contact("jane", "Janet", "jane@example.com") + "---\n" + contact("joe", "Joe")
    )
    (manifests / "more.yaml").write_text(contact("ann", "Ann"))
    eventually(converged(emulator, {"jane": "Janet", "joe": "Joe", "ann": "Ann"}), "the edit")
    assert controller.metric("reconciler_reconcile_total", result="success") >= 2
    assert controller.metric("reconciler_api_requests_total", method="people.connections.list")


def test_an_out_of_band_edit_is_corrected_at_the_next_poll(
    start: Callable[..., Controller], emulator: Emulator
) -> None:
    """Under the default policy a contact edited behind our back is written back."""
    controller = start()
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    emulator.edit(emulator.resource_name("jane"), "Mallory")
    eventually(
        lambda: controller.metric("reconciler_drift_detected_total", policy="correct") >= 1,
        "drift to be detected",
    )
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the correction")


def test_under_report_an_out_of_band_edit_is_only_reported(
    start: Callable[..., Controller], emulator: Emulator
) -> None:
    """With --drift-policy report the drift is logged and counted, and nothing is written."""
    controller = start("--drift-policy", "report")
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    eventually(controller.ready, "readiness")
    writes = emulator.writes()
    emulator.edit(emulator.resource_name("jane"), "Mallory")
    eventually(
        lambda: controller.metric("reconciler_drift_detected_total", policy="report") >= 1,
        "drift to be reported",
    )
    assert any(e.get("key") == "jane" for e in controller.logged("drift detected"))
    assert emulator.given_names() == {"jane": "Mallory", "joe": "Joe"}
    assert emulator.writes() == writes


def test_a_conflict_storm_converges_with_backoff_in_the_metrics(
    start: Callable[..., Controller], emulator: Emulator, manifests: Path
) -> None:
    """While every update is refused as stale, contacts are requeued with backoff (visible in
    /metrics) instead of retried hot; once the storm passes, the requeues converge them."""
    names = [f"c{i}" for i in range(4)]
    (manifests / "people.yaml").write_text("---\n".join(contact(n, "One") for n in names))
    controller = start()
    eventually(converged(emulator, dict.fromkeys(names, "One")), "the first convergence")
    emulator.configure(spurious_etag_rate=1.0, spurious_etag_window_ms=600_000)
    (manifests / "people.yaml").write_text("---\n".join(contact(n, "Two") for n in names))
    eventually(
        lambda: controller.metric("reconciler_workqueue_retries_total") >= 1,
        "a requeue with backoff",
    )
    assert controller.metric("reconciler_conflicts_total") >= 1
    assert controller.metric("reconciler_workqueue_backoff_seconds_count") >= 1
    assert controller.metric("reconciler_reconcile_total", result="requeue") >= 1
    assert emulator.given_names() == dict.fromkeys(names, "One")
    emulator.configure(spurious_etag_rate=0.0)
    eventually(converged(emulator, dict.fromkeys(names, "Two")), "convergence after the storm")


def test_a_broken_manifest_causes_no_writes_until_fixed(
    start: Callable[..., Controller], emulator: Emulator, manifests: Path
) -> None:
    """A bad file stops all writes (even for good files), is reported, and fixing it converges."""
    controller = start()
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    eventually(controller.ready, "readiness")
    writes = emulator.writes()
    assert writes >= 1  # the creates were counted: the comparisons below are not vacuous
    # the broken file first: a load between the two writes must not see the good edit alone
    (manifests / "broken.yaml").write_text("apiVersion: reconciler/v1\nkind: Contact\nspec: [\n")
    (manifests / "people.yaml").write_text(
        contact("jane", "Janet", "jane@example.com") + "---\n" + contact("joe", "Joseph")
    )
    eventually(
        lambda: controller.metric("reconciler_manifest_errors") >= 1, "the error to be exported"
    )
    errors = controller.logged("manifest error")
    assert any("broken.yaml" in e.get("error", "") for e in errors)
    emulator.edit(emulator.resource_name("joe"), "Mallory")  # drift is not corrected either
    eventually(
        lambda: controller.metric("reconciler_reconcile_total", result="skipped") >= 2,
        "the drift pass to be skipped",
    )
    assert emulator.writes() == writes
    assert emulator.given_names() == {"jane": "Jane", "joe": "Mallory"}
    (manifests / "broken.yaml").unlink()
    eventually(converged(emulator, {"jane": "Janet", "joe": "Joseph"}), "convergence once fixed")
    assert controller.metric("reconciler_manifest_errors") == 0


def test_sigterm_in_the_middle_of_a_pass_exits_cleanly(
    start: Callable[..., Controller], emulator: Emulator, manifests: Path
) -> None:
    """SIGTERM while a pass is writing: the pass finishes, the process exits 0."""
    emulator.configure(latency_ms=600)
    (manifests / "people.yaml").write_text("---\n".join(contact(f"p{i}", "Slow") for i in range(5)))
    controller = start()
    eventually(lambda: controller.logged("manifests loaded"), "the first pass to start")
    controller.process.send_signal(signal.SIGTERM)
    assert controller.process.wait(GENEROUS) == 0
    events = [e.get("event") for e in controller.events()]
    stopping = events.index("shutting down: finishing in-flight passes")
    assert "pass finished" in events[stopping:]  # the batch in flight was finished, not dropped
    assert events[-1] == "controller stopped"
    assert "pass cancelled at the shutdown bound" not in events


def test_under_report_the_start_pass_and_manifest_changes_never_write_drift(
    start: Callable[..., Controller], emulator: Emulator, manifests: Path
) -> None:
    """A person's edit made while no controller ran survives a controller started with
    --drift-policy report (its start pass writes intent), and survives a manifest change to
    another contact; the change itself is written."""
    first = start()
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    first.process.terminate()
    first.process.wait(30)
    emulator.edit(emulator.resource_name("jane"), "Mallory")
    controller = start("--drift-policy", "report")
    eventually(controller.ready, "readiness after the start pass")
    assert emulator.given_names() == {"jane": "Mallory", "joe": "Joe"}
    assert controller.metric("reconciler_drift_detected_total", policy="report") >= 1
    assert any(e.get("key") == "jane" for e in controller.logged("drift detected"))
    (manifests / "people.yaml").write_text(
        contact("jane", "Jane", "jane@example.com") + "---\n" + contact("joe", "Joseph")
    )
    eventually(converged(emulator, {"jane": "Mallory", "joe": "Joseph"}), "the manifest change")
