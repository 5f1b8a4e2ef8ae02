"""Run one container the way a Kubernetes pod spec confines it, without a container engine.

Started by :mod:`tests.support.pod` as ``python confine.py SPEC.json``. It enters new mount,
network and PID namespaces with the kernel's own ``unshare(2)`` (through ctypes: Python 3.11
has no ``os.unshare``, and no bubblewrap or util-linux binary is needed), inside a new user
namespace when the caller is not root, and forks PID 1 of the new PID namespace, which is root
there, with its own mount table and network. That process then builds what the kubelet would:

- a root filesystem that is read-only: a tmpfs holding bind mounts of the runtime (the Python
  installation, the virtualenv, the source tree, the system libraries), remounted read-only;
- the pod's volumes at their mount paths, read-only or writable as the spec says;
- the image's working directory, owned by the image's user but on the read-only root;
- the loopback interface of the pod's own network namespace, with forwarders standing in for
  Services: inside TCP ports to Unix sockets outside (the emulator), and Unix sockets outside to
  inside TCP ports (kubelet probes, Prometheus scrapes); Unix sockets ignore network namespaces;

and runs the command as the pod's uid, gid and supplementary groups in that root. SIGKILL of
the first process kills PID 1 (its parent-death signal) and with it the whole namespace, like
a container killed.

Only the standard library is used: this file runs before (and outside) the package under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 16384
MS_PRIVATE = 1 << 18
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    result = _libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags, data.encode()
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _bind(source: str, target: str, *, readonly: bool, recursive: bool = False) -> None:
    flags = MS_BIND | (MS_REC if recursive else 0)
    _mount(source, target, None, flags)
    if readonly:
        _mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _mountpoint(root: Path, path: str, *, is_dir: bool) -> str:
    """Create ``path`` under ``root`` (folders 0755, as an image layer would have them)."""
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if is_dir:
        target.mkdir(exist_ok=True, mode=0o755)
    elif not target.exists():
        target.touch()
    return str(target)


def _loopback_up() -> None:
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sh", b"lo", flags | iff_up))


def build_root(spec: dict[str, Any]) -> Path:
    """The container's filesystem, under a new read-only root; returns that root."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    root = Path(tempfile.mkdtemp(prefix="pod-root-"))
    _mount("tmpfs", str(root), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for path in spec["runtime"]:  # the "image": system libraries and the Python environment
        if Path(path).exists():
            _bind(path, _mountpoint(root, path, is_dir=Path(path).is_dir()), readonly=True)
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    for name in ("resolv.conf", "hosts", "nsswitch.conf", "localtime"):
        if Path("/etc", name).exists():
            _bind(f"/etc/{name}", _mountpoint(root, f"/etc/{name}", is_dir=False), readonly=True)
    user, group = spec["image_user"]
    (etc / "passwd").write_text(f"root:x:0:0::/root:/bin/sh\n{user}\n")
    (etc / "group").write_text(f"root:x:0:\n{group}\n")
    workdir = root / spec["workdir"].lstrip("/")
    workdir.mkdir(parents=True, exist_ok=True, mode=0o755)
    if _real_root():  # in a mapped namespace, what root owns shows as the pod's user anyway
        os.chown(workdir, spec["image_uid"], spec["image_gid"])
    _bind("/dev", _mountpoint(root, "/dev", is_dir=True), readonly=False, recursive=True)
    _mount("proc", _mountpoint(root, "/proc", is_dir=True), "proc", MS_NOSUID | MS_NODEV)
    for volume in spec["mounts"]:  # the pod's volumes, in the order the kubelet mounts them
        target = _mountpoint(root, volume["path"], is_dir=Path(volume["host"]).is_dir())
        _bind(volume["host"], target, readonly=volume["readonly"])
    for path in spec["runtime"]:
        # A real image never keeps its program under a volume's path, but a checkout or a
        # virtualenv of the machine running the tests may lie under /tmp, where the pod mounts
        # an emptyDir: bind it again on top, or the command would not be found.
        if Path(path).exists() and any(_beneath(path, v["path"]) for v in spec["mounts"]):
            _bind(path, _mountpoint(root, path, is_dir=Path(path).is_dir()), readonly=True)
    _mount("none", str(root), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return root


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _real_root() -> bool:
    """Whether this process is root of the initial user namespace (not a mapped one)."""
    return Path("/proc/self/uid_map").read_text().split()[:3] == ["0", "0", "4294967295"]


def _map_identity(uid: int, gid: int) -> None:
    """Root of a user namespace owns only the caller's uid: a nested namespace maps the pod's
    uid and gid onto it (supplementary groups cannot be mapped; emptyDirs are 0777 anyway)."""
    if _libc.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} 0 1")
    Path("/proc/self/gid_map").write_text(f"{gid} 0 1")


def _exec_container(root: Path, spec: dict[str, Any]) -> None:
    """In the forked child: enter the root, become the pod's user, exec the command."""
    try:
        real_root = _real_root()
        if not real_root:
            _map_identity(spec["uid"], spec["gid"])  # before chroot: not allowed after
        os.chroot(root)
        if real_root:
            os.setgroups(spec["groups"])
            os.setgid(spec["gid"])
            os.setuid(spec["uid"])
        os.chdir(spec["workdir"])
        os.execve(spec["argv"][0], spec["argv"], spec["env"])
    except BaseException as error:  # nothing may return into the parent's code
        print(f"confine: cannot start the container: {error!r}", file=sys.stderr, flush=True)
        os._exit(127)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _splice(
    local: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    remote: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    await asyncio.gather(_pipe(local[0], remote[1]), _pipe(remote[0], local[1]))


async def _forward(spec: dict[str, Any], child: int) -> int:
    """Serve the forwarders until the container exits; return its exit status."""
    servers: list[asyncio.AbstractServer] = []
    for rule in spec["egress"]:  # inside TCP -> outside Unix socket (a Service outside the pod)

        async def to_unix(r: Any, w: Any, path: str = rule["unix"]) -> None:
            try:
                remote = await asyncio.open_unix_connection(path)
            except OSError:
                w.close()
                return
            await _splice((r, w), remote)

        servers.append(await asyncio.start_server(to_unix, "127.0.0.1", rule["port"]))
    for rule in spec["ingress"]:  # outside Unix socket -> inside TCP (probes, scrapes)

        async def to_tcp(r: Any, w: Any, port: int = rule["port"]) -> None:
            try:
                remote = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                w.close()  # nothing listens yet: the caller sees a closed connection
                return
            await _splice((r, w), remote)

        with contextlib.suppress(FileNotFoundError):
            os.unlink(rule["unix"])
        servers.append(await asyncio.start_unix_server(to_tcp, rule["unix"]))
        os.chmod(rule["unix"], 0o666)
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[int] = loop.create_future()

    def reap() -> None:
        with contextlib.suppress(ChildProcessError):
            pid, status = os.waitpid(-1, os.WNOHANG)
            while pid:
                if pid == child and not exited.done():
                    exited.set_result(os.waitstatus_to_exitcode(status))
                pid, status = os.waitpid(-1, os.WNOHANG)

    loop.add_signal_handler(signal.SIGCHLD, reap)
    for signum in (signal.SIGTERM, signal.SIGINT):  # the kubelet's stop goes to the container
        loop.add_signal_handler(signum, os.kill, child, signum)
    reap()
    code = await exited
    for server in servers:
        server.close()
    return code


def enter_namespaces() -> None:
    """New mount, network and PID namespaces (and a user namespace mapping the caller to root
    when the caller is not root); raises OSError when the kernel refuses."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | (CLONE_NEWUSER if uid else 0)
    if _libc.unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare: {os.strerror(errno)}")
    if uid:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def pod(spec: dict[str, Any]) -> int:
    """PID 1 of the pod: build the root, start the container, forward until it exits."""
    _loopback_up()
    root = build_root(spec)
    child = os.fork()
    if child == 0:
        _exec_container(root, spec)
    return asyncio.run(_forward(spec, child))


def main() -> int:
    """``confine.py SPEC.json`` runs the pod; ``confine.py --probe`` only tries the namespaces."""
    try:
        enter_namespaces()
    except OSError as error:
        print(f"confine: {error.strerror or error}", file=sys.stderr)
        return 125
    alive, holder = os.pipe()  # the parent holds one end open for as long as it lives
    first = os.fork()  # the first child of a new PID namespace is its PID 1
    if first == 0:
        os.close(holder)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if select.select([alive], [], [], 0)[0]:  # end of file: the parent died before that
            os._exit(137)
        if sys.argv[1] == "--probe":
            os._exit(0)
        code = pod(json.loads(Path(sys.argv[1]).read_text()))
        os._exit(code if code >= 0 else 128 - code)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda sig, _frame: os.kill(first, sig))
    _, status = os.waitpid(first, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
