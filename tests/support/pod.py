"""A rendered pod, run for real: the chart's container confined the way its spec says.

:class:`Pod` takes the Deployment or StatefulSet the chart rendered and the ConfigMaps beside
it, and plays the kubelet: it materialises each volume the container mounts (emptyDirs and
claims as host folders that outlive a container restart, ConfigMaps projected the way the
kubelet's atomic writer does, with ``..data``), resolves the environment (``fieldRef``s),
takes the uid, gid and groups from the security contexts, and starts ``reconciler run`` with
the rendered arguments through :mod:`tests.support.confine` in fresh namespaces. The pod talks
to the outside through Unix sockets: the emulator is served on one, and probes and scrapes
reach the container's ports through others (:meth:`Pod.get`).

The image itself is not built (no container engine is assumed): its user, working directory
and entrypoint are read from the Dockerfile, and the runtime is this interpreter's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from tests.support.eventually import eventually

ROOT = Path(__file__).resolve().parents[2]
CONFINE = Path(__file__).with_name("confine.py")
EMULATOR_PORT = 8765  # where the pod reaches the emulator, inside its own network namespace


def namespaces_unavailable() -> str | None:
    """Why this kernel will not give us the namespaces a pod needs, or None when it will."""
    probe = subprocess.run(
        [sys.executable, str(CONFINE), "--probe"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        why = probe.stderr.strip() or f"exit status {probe.returncode}"
        return f"the kernel refuses user, mount, network or PID namespaces here: {why}"
    return None


class UnixEmulator:
    """Serves an ASGI app (the emulator) on a Unix socket, from a background thread."""

    def __init__(self, app: Any, path: Path) -> None:
        self.path = path
        self._server = uvicorn.Server(
            uvicorn.Config(app, uds=str(path), log_level="warning", lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, name="emulator-uds", daemon=True)

    def __enter__(self) -> UnixEmulator:
        self._thread.start()

        def started() -> bool:
            if not self._thread.is_alive():
                raise RuntimeError(f"the emulator did not start on {self.path}")
            return bool(self._server.started)

        eventually(started, f"the emulator to serve on {self.path}")
        os.chmod(self.path, 0o666)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


# -- volumes as the kubelet lays them out ------------------------------------------------------


def _write_tree(folder: Path, files: Mapping[str, str]) -> None:
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _flip(link: Path, temporary: Path, target: Path) -> str | None:
    """Point ``link`` at ``target`` by renaming a new link over it; return the old target."""
    old = os.readlink(link) if link.is_symlink() else None
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, link)
    return old


def project_configmap(folder: Path, files: Mapping[str, str]) -> None:
    """Write ``files`` (path -> text) into ``folder`` the way the kubelet updates a ConfigMap
    volume: a new timestamped folder, ``..data`` flipped to it by one rename, a top-level link
    per first path component into ``..data``, and the previous folder removed."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    _write_tree(folder / stamp, files)
    old = _flip(folder / "..data", folder / "..data_tmp", Path(stamp))
    tops = {Path(path).parts[0] for path in files}
    for top in tops:
        link = folder / top
        if not link.is_symlink():
            link.symlink_to(f"..data/{top}")
    for entry in folder.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink()
    if old is not None:
        shutil.rmtree(folder / old)


def git_sync(root: Path, revision: str, files: Mapping[str, str]) -> None:
    """Do what git-sync does for a new revision: check it out into a new worktree, flip the
    relative ``current`` link to it atomically, and remove the previous worktree."""
    _write_tree(root / ".worktrees" / revision, files)
    old = _flip(root / "current", root / f".current-{revision}", Path(".worktrees") / revision)
    if old is not None:
        shutil.rmtree(root / old)


def _configmap_files(
    configmap: Mapping[str, Any], items: list[dict[str, str]] | None
) -> dict[str, str]:
    data: dict[str, str] = dict(configmap.get("data") or {})
    if items is None:
        return data
    return {item["path"]: data[item["key"]] for item in items}


# -- the pod -----------------------------------------------------------------------------------


def _image() -> dict[str, Any]:
    """The final stage of the Dockerfile: its user and working directory."""
    text = (ROOT / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM ") :]
    workdir = re.findall(r"^WORKDIR\s+(\S+)", final, re.MULTILINE)[-1]
    uid, gid = (int(n) for n in re.findall(r"^USER\s+(\d+):(\d+)", final, re.MULTILINE)[-1])
    entrypoint = json.loads(re.findall(r"^ENTRYPOINT\s+(\[.*\])", final, re.MULTILINE)[-1])
    return {"workdir": workdir, "uid": uid, "gid": gid, "entrypoint": entrypoint}


def _runtime() -> list[str]:
    """What the image would hold: system libraries and this Python with the package."""
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"]
    paths += [sys.base_prefix, sys.prefix, str(Path(sys.executable).parent), str(ROOT)]
    resolved = sorted({str(Path(p).resolve()) for p in paths if Path(p).exists()} | set(paths))
    keep = [p for p in resolved if Path(p).exists()]
    return [p for p in keep if not any(o != p and p.startswith(o + "/") for o in keep)]


class Pod:
    """One replica of the rendered workload, restartable, its volumes kept on the host."""

    def __init__(
        self,
        workload: Mapping[str, Any],
        configmaps: Mapping[str, Mapping[str, Any]],
        *,
        name: str,
        host: Path,
        emulator_socket: Path,
        sockets: Path,
        namespace: str = "reconciler",
    ) -> None:
        self.workload = workload
        self.configmaps = configmaps
        self.name = name
        self.namespace = namespace
        self.host = host / name
        self.emulator_socket = emulator_socket
        self.sockets = sockets  # a short path: Unix socket paths hold at most 107 bytes
        self.spec: dict[str, Any] = workload["spec"]["template"]["spec"]
        self.container = next(c for c in self.spec["containers"] if c["name"] == "reconciler")
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.host / "container.log"
        self.starts = 0
        self.host.mkdir(parents=True, exist_ok=True)

    # volumes

    def volume_dir(self, name: str) -> Path:
        """The host folder behind the pod's volume ``name`` (created on first use)."""
        volumes: dict[str, dict[str, Any]] = {v["name"]: v for v in self.spec["volumes"]}
        volume = volumes.get(name, {"name": name})  # absent: a volumeClaimTemplate's claim
        folder: Path
        if "persistentVolumeClaim" in volume:
            folder = self.host.parent / "claims" / volume["persistentVolumeClaim"]["claimName"]
        elif "emptyDir" in volume or "configMap" in volume:
            folder = self.host / "volumes" / name
        else:  # a StatefulSet's volumeClaimTemplates: the claim <template>-<pod>
            templates = self.workload["spec"].get("volumeClaimTemplates", [])
            assert any(t["metadata"]["name"] == name for t in templates), f"no volume {name}"
            folder = self.host.parent / "claims" / f"{name}-{self.name}"
        if not folder.exists():
            folder.mkdir(parents=True)
            self._share(folder)
        return folder

    def _share(self, folder: Path) -> None:
        """An emptyDir or a fresh claim: world-writable, group-owned by fsGroup (setgid)."""
        folder.chmod(0o777)
        fs_group = self.spec.get("securityContext", {}).get("fsGroup")
        if fs_group is not None:
            try:
                os.chown(folder, -1, fs_group)
            except OSError:  # not root, or fsGroup unmapped here: world-writable is enough
                return
            folder.chmod(0o2777)

    def project_configmaps(self) -> None:
        """(Re)project every ConfigMap volume from the current ConfigMaps."""
        for volume in self.spec["volumes"]:
            if "configMap" in volume:
                source = volume["configMap"]
                files = _configmap_files(self.configmaps[source["name"]], source.get("items"))
                project_configmap(self.volume_dir(volume["name"]), files)

    def _mounts(self) -> list[dict[str, Any]]:
        mounts = []
        by_name = {v["name"]: v for v in self.spec["volumes"]}
        for mount in self.container["volumeMounts"]:
            volume = by_name.get(mount["name"], {})
            assert "secret" not in volume, "Secrets are not played by this harness"
            readonly = bool(mount.get("readOnly")) or "configMap" in volume
            folder = self.volume_dir(mount["name"])
            mounts.append({"host": str(folder), "path": mount["mountPath"], "readonly": readonly})
        return mounts

    # identity, environment, command

    def _identity(self) -> tuple[int, int, list[int]]:
        pod = self.spec.get("securityContext", {})
        own = self.container.get("securityContext", {})
        assert own.get("readOnlyRootFilesystem") is True, "the harness runs read-only roots only"
        image = _image()
        uid = own.get("runAsUser", pod.get("runAsUser", image["uid"]))
        gid = own.get("runAsGroup", pod.get("runAsGroup", image["gid"]))
        groups = [gid] + ([pod["fsGroup"]] if "fsGroup" in pod else [])
        groups += pod.get("supplementalGroups", [])
        return int(uid), int(gid), sorted(set(groups))

    def _env(self, workdir: str) -> dict[str, str]:
        fields = {"metadata.name": self.name, "metadata.namespace": self.namespace}
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": workdir,  # the image user's home, from /etc/passwd
            "HOSTNAME": self.name,
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        for item in self.container.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
            else:
                env[item["name"]] = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
        return env

    def _argv(self) -> list[str]:
        image = _image()
        command = self.container.get("command") or image["entrypoint"]
        program = Path(sys.executable).parent / command[0]
        return [str(program), *command[1:], *self.container.get("args", [])]

    def _spec(self) -> dict[str, Any]:
        image = _image()
        uid, gid, groups = self._identity()
        workdir = self.container.get("workingDir") or image["workdir"]
        ports = {p["name"]: p["containerPort"] for p in self.container.get("ports", [])}
        return {
            "runtime": _runtime(),
            "image_user": (
                f"reconciler:x:{image['uid']}:{image['gid']}::{image['workdir']}:/usr/sbin/nologin",
                f"reconciler:x:{image['gid']}:",
            ),
            "image_uid": image["uid"],
            "image_gid": image["gid"],
            "workdir": workdir,
            "mounts": self._mounts(),
            "uid": uid,
            "gid": gid,
            "groups": groups,
            "argv": self._argv(),
            "env": self._env(workdir),
            "egress": [{"port": EMULATOR_PORT, "unix": str(self.emulator_socket)}],
            "ingress": [
                {"port": port, "unix": str(self.socket(name))} for name, port in ports.items()
            ],
        }

    # lifecycle

    def socket(self, port_name: str) -> Path:
        return self.sockets / f"{self.name[-12:]}-{port_name}.sock"

    def start(self) -> None:
        """Start (or restart) the container; the volumes keep what the last run wrote."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.project_configmaps()
        spec = self.host / "spec.json"
        spec.write_text(json.dumps(self._spec(), indent=1))
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, str(CONFINE), str(spec)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: the container dies with whatever it had in flight."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def get(self, port_name: str, path: str) -> httpx.Response:
        """GET ``path`` on a container port, the way a probe or a scrape reaches it."""
        transport = httpx.HTTPTransport(uds=str(self.socket(port_name)))
        with httpx.Client(transport=transport, timeout=10) as client:
            return client.get(f"http://{self.name}{path}")

    def probe(self, path: str = "/readyz") -> int:
        """The probe's status code, 0 while nothing answers."""
        try:
            return self.get("health", path).status_code
        except httpx.TransportError:
            return 0

    def events(self) -> list[dict[str, Any]]:
        """The container's JSON log lines, across restarts."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def events_since_start(self) -> list[dict[str, Any]]:
        """The JSON log lines of the current run only."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        current = text.rsplit(f"--- start {self.starts}\n", 1)[-1]
        return [json.loads(line) for line in current.splitlines() if line.startswith("{")]

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def socket_folder() -> Iterator[Path]:
    """A folder with a short path for Unix sockets (``tmp_path`` is often too long)."""
    folder = Path(tempfile.mkdtemp(prefix="pod-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def running(pods: list[Pod]) -> Iterator[list[Pod]]:
    """Start ``pods`` and stop (SIGKILL) whatever is still running at the end."""
    try:
        for pod in pods:
            pod.start()
        yield pods
    finally:
        for pod in pods:
            pod.stop()
