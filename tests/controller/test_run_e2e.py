"""`reconciler run` end to end: the real command in a subprocess against the emulator over HTTP.

Intervals are short so that each test takes seconds; nothing asserts how long anything took,
every wait polls with a generous limit.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.eventually import LIMIT, NeverHappened, eventually
from tests.support.manifests import PublishedTree, contact_yaml

USER = "alice@example.com"
WRITE_METHOD = re.compile(
    r"\.(batch)?(create|update|delete)(Contacts?|ContactGroup)?$|modify$", re.IGNORECASE
)


class Emulator:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=LIMIT)

    def people(self) -> list[dict[str, Any]]:
        users = self.http.get("/__emulator/dump").json()["users"]
        return list(users.get(USER, {}).get("people", []))

    def given_names(self) -> dict[str, str]:
        """Manifest name -> given name of every stamped contact."""
        found: dict[str, str] = {}
        for person in self.people():
            stamp = {e["key"]: e["value"] for e in person.get("clientData", [])}
            if "reconciler.name" in stamp:
                found[stamp["reconciler.name"]] = person["names"][0]["givenName"]
        return found

    def resource_name(self, key: str) -> str:
        for person in self.people():
            stamp = {e["key"]: e["value"] for e in person.get("clientData", [])}
            if stamp.get("reconciler.name") == key:
                return str(person["resourceName"])
        raise AssertionError(f"no contact {key}")

    def writes(self) -> int:
        stats = self.http.get("/__emulator/stats").json()["by_method"]
        return sum(n for method, n in stats.items() if WRITE_METHOD.search(method))

    def configure(self, **knobs: Any) -> None:
        self.http.patch("/__emulator/config", json=knobs).raise_for_status()

    def edit(self, resource_name: str, given: str) -> None:
        self.http.post(
            "/__emulator/edit",
            json={
                "user": USER,
                "resourceName": resource_name,
                "person": {"names": [{"givenName": given}]},
                "updatePersonFields": "names",
            },
        ).raise_for_status()


class Controller:
    """A running `reconciler run` subprocess with its logs and its probe/metrics address."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log
        self.http = httpx.Client(timeout=LIMIT)
        self._base = ""

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == event]

    @property
    def base(self) -> str:
        if not self._base:
            serving = eventually(lambda: self.logged("serving"), "the controller to serve")
            self._base = serving[0]["address"]
        return self._base

    def ready(self) -> bool:
        try:
            return self.http.get(self.base + "/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def metric(self, name: str, **labels: str) -> float:
        text = self.http.get(self.base + "/metrics").text
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


@pytest.fixture
def emulator(emulator_server: Any) -> Emulator:
    return Emulator(emulator_server.url)


JANE_AND_JOE = (
    contact_yaml("jane", "Jane", email="jane@example.com") + "---\n" + contact_yaml("joe", "Joe")
)


@pytest.fixture
def manifests(tmp_path: Path) -> PublishedTree:
    """The manifests as a git-sync sidecar publishes them: edits swap whole revisions."""
    return PublishedTree(tmp_path / "manifests", {"people.yaml": JANE_AND_JOE})


@pytest.fixture
def start(
    tmp_path: Path, emulator: Emulator, manifests: PublishedTree
) -> Iterator[Callable[..., Controller]]:
    running: list[Controller] = []

    def launch(*extra: str) -> Controller:
        log = tmp_path / f"controller-{len(running)}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("RECONCILER_TARGET", None)
        argv = [
            sys.executable,
            "-m",
            "reconciler",
            "run",
            str(manifests.link),
            "--target",
            emulator.url,
            "--token",
            f"user:{USER}",
            "--state",
            str(tmp_path / "state" / "embedded.sqlite3"),
            "--owner",
            "e2e",
            "--health-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
            "--poll-interval",
            "300ms",
            "--resync-interval",
            "1h",
            "--debounce",
            "200ms",
            "--log-format",
            "json",
            *extra,
        ]
        with log.open("wb") as sink:
            process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
        controller = Controller(process, log)
        running.append(controller)
        return controller

    yield launch
    for controller in running:
        if controller.process.poll() is None:
            controller.process.kill()
            controller.process.wait(LIMIT)


def converged(emulator: Emulator, expected: dict[str, str]) -> Callable[[], bool]:
    return lambda: emulator.given_names() == expected


def watching(controller: Controller, manifests: PublishedTree) -> None:
    """Wait until the controller watches the manifests: publish the same revision again until it
    logs a manifest change (a watch attaches in its own time, and an edit made before that is
    only seen at the next resync). Each look waits longer, so a slow attach is not flooded."""
    seen = len(controller.logged("manifests changed"))
    for attempt in itertools.count():
        manifests.publish({})
        try:
            eventually(
                lambda: len(controller.logged("manifests changed")) > seen,
                "the controller to watch the manifests",
                limit=min(LIMIT, 2.0 * 2**attempt),
            )
            return
        except NeverHappened:
            if attempt >= 5:
                raise


def test_a_manifest_edit_converges_after_the_debounce(
    start: Callable[..., Controller], emulator: Emulator, manifests: PublishedTree
) -> None:
    """The first pass creates the contacts; an edited file is applied without a resync."""
    controller = start()
    eventually(controller.ready, "readiness")
    assert controller.http.get(controller.base + "/healthz").status_code == 200
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    watching(controller, manifests)
    janet = contact_yaml("jane", "Janet", email="jane@example.com")
    manifests.publish(
        {
            "people.yaml": janet + "---\n" + contact_yaml("joe", "Joe"),
            "more.yaml": contact_yaml("ann", "Ann"),
        }
    )
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
    start: Callable[..., Controller], emulator: Emulator, manifests: PublishedTree
) -> None:
    """While every update is refused as stale, contacts are requeued with backoff (visible in
    /metrics) instead of retried hot; once the storm passes, the requeues converge them."""
    names = [f"c{i}" for i in range(4)]
    manifests.publish({"people.yaml": "---\n".join(contact_yaml(n, "One") for n in names)})
    controller = start()
    eventually(converged(emulator, dict.fromkeys(names, "One")), "the first convergence")
    watching(controller, manifests)
    emulator.configure(spurious_etag_rate=1.0, spurious_etag_window_ms=600_000)
    manifests.publish({"people.yaml": "---\n".join(contact_yaml(n, "Two") for n in names)})
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
    start: Callable[..., Controller], emulator: Emulator, manifests: PublishedTree
) -> None:
    """A bad file stops all writes (even for good files), is reported, and fixing it converges."""
    controller = start()
    eventually(converged(emulator, {"jane": "Jane", "joe": "Joe"}), "the first convergence")
    eventually(controller.ready, "readiness")
    writes = emulator.writes()
    assert writes >= 1  # the creates were counted: the comparisons below are not vacuous
    watching(controller, manifests)
    janet = contact_yaml("jane", "Janet", email="jane@example.com")
    manifests.publish(
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
    manifests.publish({}, remove=["broken.yaml"])
    eventually(converged(emulator, {"jane": "Janet", "joe": "Joseph"}), "convergence once fixed")
    assert controller.metric("reconciler_manifest_errors") == 0


def test_sigterm_in_the_middle_of_a_pass_exits_cleanly(
    start: Callable[..., Controller], emulator: Emulator, manifests: PublishedTree
) -> None:
    """SIGTERM while a pass is writing: the pass finishes, the process exits 0."""
    emulator.configure(latency_ms=600)
    manifests.publish(
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
