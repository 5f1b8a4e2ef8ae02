"""`reconciler run` end to end: the real command in a subprocess against the emulator over HTTP.

Intervals are short so that each test takes seconds; nothing asserts how long anything took,
every wait polls with a generous limit.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.controller import Controller, Emulator, launch_controller, watching
from tests.support.eventually import LIMIT, eventually
from tests.support.manifests import PublishedTree, contact_yaml


@pytest.fixture
def start(
    tmp_path: Path, emulator: Emulator, published: PublishedTree
) -> Iterator[Callable[..., Controller]]:
    running: list[Controller] = []

    def launch(*extra: str) -> Controller:
        controller = launch_controller(
            tmp_path, emulator, published, *extra, name=f"controller-{len(running)}"
        )
        running.append(controller)
        return controller

    yield launch
    for controller in running:
        controller.stop()


def converged(emulator: Emulator, expected: dict[str, str]) -> Callable[[], bool]:
    return lambda: emulator.given_names() == expected


def test_a_manifest_edit_converges_after_the_debounce(
    start: Callable[..., Controller], emulator: Emulator, published: PublishedTree
) -> None:
    """The first pass creates the contacts; an edited file is applied without a resync."""
    controller = start()
    eventually(controller.ready, "readiness")
    assert controller.http.get(controller.base + "/healthz").status_code == 200
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    watching(controller, published)
    janet = contact_yaml("jane", "Janet", email="jane@example.com")
    published.publish(
        {
            "people.yaml": janet + "---\n" + contact_yaml("joe", "Joe"),
            "more.yaml": contact_yaml("ann", "Ann"),
        }
    )
    eventually(converged(emulator, {"jane": "Janet", "joe": "Joe", "ann": "Ann"}), "the edit")
    eventually(  # a pass is counted once it has ended, after its writes show
        lambda: controller.metric("reconciler_reconcile_total", result="success") >= 2,
        "the edit's pass counted",
    )
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
    eventually(lambda: controller.logged("lease.released"), "the idle account's lease given back")
    writes = emulator.writes()  # from here on, not even a lease write
    emulator.edit(emulator.resource_name("jane"), "Mallory")
    eventually(
        lambda: controller.metric("reconciler_drift_detected_total", policy="report") >= 1,
        "drift to be reported",
    )
    assert any(e.get("key") == "jane" for e in controller.logged("drift detected"))
    assert emulator.given_names() == {"jane": "Mallory", "joe": "Joe"}
    assert emulator.writes() == writes


def test_a_conflict_storm_converges_with_backoff_in_the_metrics(
    start: Callable[..., Controller], emulator: Emulator, published: PublishedTree
) -> None:
    """While every update is refused as stale, contacts are requeued with backoff (visible in
    /metrics) instead of retried hot; once the storm passes, the requeues converge them."""
    names = [f"c{i}" for i in range(4)]
    published.publish({"people.yaml": "---\n".join(contact_yaml(n, "One") for n in names)})
    controller = start()
    eventually(converged(emulator, dict.fromkeys(names, "One")), "the first convergence")
    emulator.configure(spurious_etag_rate=1.0, spurious_etag_window_ms=600_000)
    watching(controller, published)
    published.publish({"people.yaml": "---\n".join(contact_yaml(n, "Two") for n in names)})
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
    start: Callable[..., Controller], emulator: Emulator, published: PublishedTree
) -> None:
    """A bad file stops all writes (even for good files), is reported, and fixing it converges."""
    controller = start()
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    eventually(controller.ready, "readiness")
    eventually(lambda: controller.logged("lease.released"), "the idle account's lease given back")
    writes = emulator.writes()  # from here on, not even a lease write
    assert writes >= 1  # the creates were counted: the comparisons below are not vacuous
    watching(controller, published)
    janet = contact_yaml("jane", "Janet", email="jane@example.com")
    published.publish(
        {
            "people.yaml": janet + "---\n" + contact_yaml("joe", "Joseph"),
            "broken.yaml": "apiVersion: reconciler/v1\nkind: Contact\nspec: [\n",
        }
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
    published.publish({}, remove=["broken.yaml"])
    eventually(converged(emulator, {"jane": "Janet", "joe": "Joseph"}), "convergence once fixed")
    assert controller.metric("reconciler_manifest_errors") == 0


def test_sigterm_in_the_middle_of_a_pass_exits_cleanly(
    start: Callable[..., Controller], emulator: Emulator, published: PublishedTree
) -> None:
    """SIGTERM while a pass is writing: the pass finishes, the process exits 0."""
    emulator.configure(latency_ms=600)
    published.publish(
        {"people.yaml": "---\n".join(contact_yaml(f"p{i}", "Slow") for i in range(5))}
    )
    controller = start()
    eventually(lambda: controller.logged("manifests loaded"), "the first pass to start")
    controller.process.send_signal(signal.SIGTERM)
    assert controller.process.wait(LIMIT) == 0
    events = [e.get("event") for e in controller.events()]
    stopping = events.index("shutting down: finishing in-flight passes")
    assert "pass finished" in events[stopping:]  # the batch in flight was finished, not dropped
    assert events[-1] == "controller stopped"
    assert "pass cancelled at the shutdown bound" not in events


def test_under_report_the_start_pass_and_manifest_changes_never_write_drift(
    start: Callable[..., Controller], emulator: Emulator, published: PublishedTree
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
    watching(controller, published)
    jane = contact_yaml("jane", "Jane", email="jane@example.com")
    published.publish({"people.yaml": jane + "---\n" + contact_yaml("joe", "Joseph")})
    eventually(converged(emulator, {"jane": "Mallory", "joe": "Joseph"}), "the manifest change")
