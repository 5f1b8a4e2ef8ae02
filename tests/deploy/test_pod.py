"""The chart's pod, run for real: rendered by Helm, confined as its spec says, killed, restarted.

Each test renders the chart, then runs every replica's container the way the kubelet would
(``tests/support/pod.py``): read-only root, the pod's uid, gid and groups, only the rendered
volumes writable, the rendered arguments, environment and working directory, in its own network
namespace, against the People API emulator instead of Google. Manifests arrive as a ConfigMap
volume (the kubelet's ``..data`` swaps) or as git-sync checkouts (``current`` link flips). While
a create is in flight (done by the emulator, its answer held back) every pod is killed with
SIGKILL; the restarted pods must converge without creating anything twice, although the
emulator's listings lag the creates: only the create journal in the state volume knows.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import httpx
import pytest

from reconciler.controller.sharding import parse_shard
from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from tests.support.eventually import eventually
from tests.support.pod import (
    EMULATOR_PORT,
    Pod,
    UnixEmulator,
    git_sync,
    namespaces_unavailable,
    running,
    socket_folder,
)

from .conftest import render

pytestmark = pytest.mark.skipif(
    (why := namespaces_unavailable()) is not None, reason=f"cannot confine a pod here: {why}"
)

FULLNAME = "contacts-contacts-reconciler"
SHARDS = 2


def contact(name: str, given: str) -> str:
    return (
        f"apiVersion: reconciler/v1\nkind: Contact\nmetadata: {{name: {name}}}\n"
        f"spec:\n  names: [{{givenName: {given}}}]\n"
    )


def subjects(sharded: bool) -> list[str]:
    """Two accounts; in sharded mode one in each shard, so both replicas have work."""
    if not sharded:
        return ["alice@example.com", "bob@example.com"]
    found: dict[int, str] = {}
    for n in range(100):
        subject = f"user{n}@example.com"
        for index in range(SHARDS):
            if parse_shard(f"{index}/{SHARDS}").owns(subject):
                found.setdefault(index, subject)
    return [found[index] for index in range(SHARDS)]


def folder(subject: str) -> str:
    return subject.split("@")[0]


def more(revision: int) -> int:
    """How many contacts ``more.yaml`` holds in ``revision``."""
    return 1 if revision == 1 else 6


def revision_files(accounts: list[str], revision: int) -> dict[str, str]:
    """Per account: ``friend.yaml`` (edited in revision 2) and ``more.yaml`` (five more contacts
    in revision 2). The same files in both, so the pod spec, which lists a ConfigMap volume's
    items, does not change: the kubelet updates the volume in place."""
    files: dict[str, str] = {}
    for subject in accounts:
        name = folder(subject)
        text = contact(f"{name}-friend", "First" if revision == 1 else "Edited")
        files[f"{name}/friend.yaml"] = text
        files[f"{name}/more.yaml"] = "---\n".join(
            contact(f"{name}-more-{n}", f"More{n}") for n in range(more(revision))
        )
    return files


def expected(accounts: list[str], revision: int) -> dict[str, dict[str, str]]:
    """Per account: manifest name -> given name once converged on ``revision``."""
    out: dict[str, dict[str, str]] = {}
    for subject in accounts:
        name = folder(subject)
        want = {f"{name}-friend": "First" if revision == 1 else "Edited"}
        want |= {f"{name}-more-{n}": f"More{n}" for n in range(more(revision))}
        out[subject] = want
    return out


class HeldCreate:
    """Wraps the emulator: the first batch create is performed, but its answer is held back
    until the pod that sent it is gone, as when a container dies mid-request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.armed = False
        self.performed = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (self.armed and path.endswith(":batchCreateContacts")):
            await self.app(scope, receive, send)
            return
        self.armed = False

        async def swallow(message: Any) -> None:
            pass

        await self.app(scope, receive, swallow)
        self.performed.set()
        while (await receive())["type"] != "http.disconnect":
            pass  # never answer: the sender dies waiting


class Cluster:
    """The emulator (over TCP for the test, over a Unix socket for the pods) and the pods."""

    def __init__(self, chart: helm.Chart, tmp_path: Path, source: str, sharded: bool) -> None:
        self.chart = chart
        self.tmp = tmp_path
        self.source = source
        self.sharded = sharded
        self.accounts = subjects(sharded)
        self.app = create_app(EmulatorConfig())
        self.held = HeldCreate(self.app)
        self.pods: list[Pod] = []

    def values(self, revision: int) -> dict[str, Any]:
        values: dict[str, Any] = {
            "controller": {"target": f"http://127.0.0.1:{EMULATOR_PORT}"},
            "accounts": [{"subject": s, "manifests": folder(s)} for s in self.accounts],
            "sharding": {"enabled": self.sharded, "shards": SHARDS},
        }
        if self.source == "git":
            values["manifests"] = {"source": "git", "git": {"repo": "https://git.example/c.git"}}
        else:
            files = revision_files(self.accounts, revision)
            values["manifests"] = {"source": "configMap", "configMap": {"files": files}}
        return values

    def render(self, revision: int) -> tuple[dict[str, Any], dict[str, Any]]:
        rendered = render(self.chart, self.values(revision))
        configmaps = {o["metadata"]["name"]: o for o in rendered.by_kind.get("ConfigMap", [])}
        return rendered.workload, configmaps

    def publish(self, revision: int) -> None:
        """A new revision of the manifests reaches every pod (git-sync, or the kubelet)."""
        if self.source == "git":
            for pod in self.pods:
                git_sync(
                    pod.volume_dir("manifests"),
                    f"rev{revision}",
                    revision_files(self.accounts, revision),
                )
            return
        workload, configmaps = self.render(revision)
        for pod in self.pods:
            template = pod.workload["spec"]["template"]
            assert workload["spec"]["template"] == template, "the pods would be replaced"
            pod.configmaps = configmaps
            pod.project_configmaps()

    def make_pods(self, sockets: Path) -> None:
        workload, configmaps = self.render(1)
        replicas = workload["spec"]["replicas"]
        if self.sharded:
            names = [f"{FULLNAME}-{index}" for index in range(replicas)]
        else:
            assert replicas == 1
            names = [f"{FULLNAME}-7d9f8b6c5-x2x4q"]
        self.pods = [
            Pod(
                workload,
                configmaps,
                name=n,
                host=self.tmp / "pods",
                emulator_socket=sockets / "emulator.sock",
                sockets=sockets,
            )
            for n in names
        ]
        if self.source == "git":
            self.publish(1)  # git-sync's init container: the first checkout before the start


def live(http: httpx.Client, subject: str) -> Counter[tuple[str, str]]:
    """(manifest name, given name) -> how many stamped contacts carry it."""
    users = http.get("/__emulator/dump").json()["users"]
    found: Counter[tuple[str, str]] = Counter()
    for person in users.get(subject, {}).get("people", []):
        stamp = {e["key"]: e["value"] for e in person.get("clientData", [])}
        if "reconciler.name" in stamp:
            found[(stamp["reconciler.name"], person["names"][0]["givenName"])] += 1
    return found


def converged(http: httpx.Client, want: dict[str, dict[str, str]]) -> bool:
    return all(live(http, subject) == Counter(names.items()) for subject, names in want.items())


def all_ready(pods: list[Pod]) -> bool:
    for pod in pods:
        if pod.process is None or pod.process.poll() is not None:
            raise RuntimeError(f"{pod.name} exited:\n{pod.output()[-4000:]}")
    return all(pod.probe("/readyz") == 200 for pod in pods)


@pytest.fixture(scope="module")
def chart_for_pods() -> Iterator[helm.Chart]:
    from .conftest import CHART_DIR

    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.mark.parametrize("source", ["configMap", "git"])
@pytest.mark.parametrize("sharded", [False, True], ids=["deployment", "statefulset"])
def test_the_rendered_pod_converges_and_survives_sigkill_without_duplicates(
    chart_for_pods: helm.Chart, tmp_path: Path, source: str, sharded: bool
) -> None:
    """The default pod, confined as rendered, becomes ready and converges; a new revision of
    the manifests is picked up; SIGKILL while a create is in flight and a restart on the same
    volumes converge with every contact exactly once, in both workload modes and from both
    manifest sources."""
    cluster = Cluster(chart_for_pods, tmp_path, source, sharded)
    with (
        socket_folder() as sockets,
        BackgroundServer(cluster.app) as tcp,
        UnixEmulator(cluster.held, sockets / "emulator.sock"),
        httpx.Client(base_url=tcp.url, timeout=10) as http,
    ):
        cluster.make_pods(sockets)
        pods = cluster.pods
        with running(pods):
            exercise(cluster, http, pods)


def exercise(cluster: Cluster, http: httpx.Client, pods: list[Pod]) -> None:
    if True:
        eventually(lambda: all_ready(pods), "every replica to become ready")
        eventually(lambda: converged(http, expected(cluster.accounts, 1)), "the first revision")
        for pod in pods:  # what a scrape of the metrics port sees names no mailbox
            scraped = pod.get("metrics", "/metrics")
            assert scraped.status_code == 200
            assert "reconciler_build_info{" in scraped.text
            assert "@" not in scraped.text

        # Listings now lag creates: after a crash only the journal knows what was created.
        http.patch("/__emulator/config", json={"list_lag_ms": 4000}).raise_for_status()
        cluster.held.armed = True
        cluster.publish(2)
        assert cluster.held.performed.wait(60), "no create reached the emulator"
        for pod in pods:
            pod.kill()
        for pod in pods:
            pod.start()

        eventually(lambda: all_ready(pods), "every restarted replica to become ready")
        eventually(
            lambda: all(
                any(
                    e.get("event") == "pass finished" and e.get("left") == 0
                    for e in pod.events_since_start()
                )
                for pod in pods
            ),
            "a pass with nothing left after the restart",
        )
        eventually(lambda: converged(http, expected(cluster.accounts, 2)), "the second revision")
        for subject in cluster.accounts:
            assert max(live(http, subject).values()) == 1, live(http, subject)
