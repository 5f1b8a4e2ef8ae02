"""A real ``reconciler run`` in a subprocess, and the emulator it talks to, for end-to-end tests.

The controller is started exactly as an operator would start it (over HTTP against the emulator,
probes on a random port), its JSON logs go to a file the test reads, and its probe address is
taken from its own ``serving`` log line. Tests that run the controller in-process
(``run_controller``) take its settings from :func:`run_settings`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.support.eventually import LIMIT, NeverHappened, eventually
from tests.support.manifests import PublishedTree
from tests.support.pacing import ROOMY_FLAGS

USER = "alice@example.com"
WRITE_METHOD = re.compile(
    r"\.(batch)?(create|update|delete)(Contacts?|ContactGroup)?$|modify$", re.IGNORECASE
)


class Emulator:
    """The emulator's admin surface, for one user's address book."""

    def __init__(self, url: str, user: str = USER) -> None:
        self.url = url
        self.user = user
        self.http = httpx.Client(base_url=url, timeout=10)

    def people(self) -> list[dict[str, Any]]:
        users = self.http.get("/__emulator/dump").json()["users"]
        return list(users.get(self.user, {}).get("people", []))

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
        """An out-of-band edit of a contact's given name, as a person on a phone would make."""
        self.http.post(
            "/__emulator/edit",
            json={
                "user": self.user,
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
        self.http = httpx.Client(timeout=10)
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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def launch_controller(
    workdir: Path,
    emulator: Emulator,
    manifests: Path | PublishedTree,
    *extra: str,
    name: str = "controller",
    wrapper: Sequence[str] = (),
) -> Controller:
    """Start ``reconciler run`` on ``manifests`` against ``emulator``, with short intervals and
    roomy per-user budgets (:mod:`tests.support.pacing`; ``extra`` flags win over both);
    probes, status and metrics on one random 127.0.0.1 port. Stop it with ``.stop()``.
    ``wrapper`` is a command line the controller's is appended to (``unshare ...``)."""
    where = str(manifests.link if isinstance(manifests, PublishedTree) else manifests)
    identity = ("--token", f"user:{emulator.user}")
    return _spawn(workdir, emulator.url, (where, *identity, *extra), name, wrapper)


def launch_with_config(
    workdir: Path, url: str, config: Path, *extra: str, name: str = "controller"
) -> Controller:
    """Start ``reconciler run --config`` against the emulator at ``url``, as
    :func:`launch_controller` does (each account is its own user there)."""
    return _spawn(workdir, url, ("--config", str(config), *extra), name)


def _spawn(
    workdir: Path, url: str, args: tuple[str, ...], name: str, wrapper: Sequence[str] = ()
) -> Controller:
    log = workdir / f"{name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RECONCILER_TARGET", None)
    argv = [
        *wrapper,
        sys.executable,
        "-m",
        "reconciler",
        "run",
        "--target",
        url,
        "--state",
        str(workdir / "state" / "embedded.sqlite3"),
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
        *ROOMY_FLAGS,
        *args,
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
    return Controller(process, log)


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


def run_settings(url: str, tmp_path: Path, **extra: Any) -> Any:
    """``reconciler run``'s settings against ``url`` for a controller run in-process: its state
    under ``tmp_path``, its probes on free ports, roomy per-user budgets
    (:mod:`tests.support.pacing`), ``extra`` as given."""
    from reconciler.controller.runner import RunSettings
    from reconciler.statedir import StateDir
    from tests.support.pacing import ROOMY_PACING

    return RunSettings(
        target=url,
        state_dir=StateDir.at(tmp_path / "state"),
        health_addr="0",
        metrics_addr="0",
        **{"pacing": ROOMY_PACING, **extra},
    )
