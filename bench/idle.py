"""What a converged address book costs the controller: requests per poll and CPU seconds.

The controller's steady state is "nothing changed". It should cost one incremental
``connections.list`` per poll and no writes (the floor), plus a few milliseconds of CPU. This
benchmark builds ``--contacts`` manifests, lets a first ``reconciler run`` converge them and stops
it, then starts a second one (a restart is one full pass: it must write nothing) and watches it
idle for ``--duration`` with a short ``--poll-interval``. Last, ``--burst`` contacts are edited
out of band at once: they must be corrected in a few passes of batch calls, not one per contact;
then one manifest is edited: that must cost a pass over one contact, not a listing of all.
Requests are counted by the emulator (served over HTTP in this process), CPU from the controller
subprocess's /proc entry.

    python bench/idle.py [--contacts 5000] [--duration 30s] [--poll-interval 1s] [--burst 500]
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from contact_yaml import contact_doc
from measures import cpu_seconds

from reconciler.emulator import BackgroundServer, create_app

USER = "bench@example.com"
WRITES = re.compile(
    r"\.(batch)?(create|update|delete)(Contacts?|ContactGroup)?$|modify$", re.IGNORECASE
)
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 30s, 2m, ...)")
    return float(match.group(1)) * _SECONDS[match.group(2) or "s"]


def write_manifests(folder: Path, count: int, per_file: int = 500) -> None:
    for start in range(0, count, per_file):
        docs = []
        for i in range(start, min(count, start + per_file)):
            docs.append(contact_doc(i, phone=True))
        (folder / f"people-{start // per_file:03d}.yaml").write_text("---\n".join(docs))


class Run:
    """One `reconciler run` subprocess with JSON logs in a file."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        self.http = httpx.Client(timeout=30)
        self.base = ""

    def events(self) -> list[dict[str, Any]]:
        text = self.log.read_text(errors="replace")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def metric(self, name: str, **labels: str) -> float:
        total = 0.0
        for line in self.http.get(self.base + "/metrics").text.splitlines():
            if line.startswith((name + "{", name + " ")) and all(
                f'{k}="{v}"' in line for k, v in labels.items()
            ):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def wait(
        self, check: Callable[[], Any], what: str, limit: float = 600.0, every: float = 0.2
    ) -> Any:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the controller exited ({self.process.returncode}) waiting for {what}")
            value = check()
            if value:
                return value
            time.sleep(every)
        sys.exit(f"timed out waiting for {what}")

    def start(self) -> None:
        def serving() -> Any:
            return [e for e in self.events() if e.get("event") == "serving"]

        self.base = self.wait(serving, "the controller to serve")[0]["address"]

        def ready() -> bool:
            return self.http.get(self.base + "/readyz").status_code == 200

        self.wait(ready, "the first full pass")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def emulator_stats(http: httpx.Client) -> tuple[int, int, dict[str, int]]:
    """(list calls, writes, every method) answered so far."""
    by_method: dict[str, int] = http.get("/__emulator/stats").json()["by_method"]
    lists = sum(n for m, n in by_method.items() if m.endswith("connections.list"))
    writes = sum(n for m, n in by_method.items() if WRITES.search(m))
    return lists, writes, by_method


def burst_edits(http: httpx.Client, run: Run, count: int) -> tuple[float, float, dict[str, int]]:
    """Edit ``count`` contacts behind the controller's back; wait until all are corrected.
    Returns (seconds, passes, requests by method) for the correction."""
    people = http.get("/__emulator/dump").json()["users"][USER]["people"][:count]
    _, _, before = emulator_stats(http)
    passes0 = run.metric("reconciler_reconcile_total")
    began = time.monotonic()
    for person in people:
        http.post(
            "/__emulator/edit",
            json={
                "user": USER,
                "resourceName": person["resourceName"],
                "person": {"names": [{"givenName": "Edited", "familyName": "Elsewhere"}]},
                "updatePersonFields": "names",
            },
        ).raise_for_status()

    edited = {str(p["resourceName"]) for p in people}

    def corrected() -> bool:
        book = http.get("/__emulator/dump").json()["users"][USER]["people"]
        return not any(
            p["resourceName"] in edited and p["names"][0]["givenName"] == "Edited" for p in book
        )

    run.wait(corrected, "the burst to be corrected", every=1.0)
    took = time.monotonic() - began
    time.sleep(3.0)  # let the echo of our own writes come back through a poll
    _, _, after = emulator_stats(http)
    used = {m: n - before.get(m, 0) for m, n in after.items() if n != before.get(m, 0)}
    return took, run.metric("reconciler_reconcile_total") - passes0, used


def manifest_edit(http: httpx.Client, run: Run, manifests: Path) -> tuple[float, dict[str, int]]:
    """Rename person-00000 in its manifest; wait until it is live. (seconds, requests)."""
    path = manifests / "people-000.yaml"
    _, _, before = emulator_stats(http)
    began = time.monotonic()
    path.write_text(path.read_text().replace("givenName: Given0,", "givenName: Renamed0,", 1))

    def renamed() -> bool:
        book = http.get("/__emulator/dump").json()["users"][USER]["people"]
        return any(p["names"][0]["givenName"] == "Renamed0" for p in book)

    run.wait(renamed, "the manifest edit to be applied", every=0.5)
    took = time.monotonic() - began
    time.sleep(3.0)
    _, _, after = emulator_stats(http)
    return took, {m: n - before.get(m, 0) for m, n in after.items() if n != before.get(m, 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--duration", type=seconds, default=seconds("30s"))
    parser.add_argument("--poll-interval", type=seconds, default=seconds("1s"))
    parser.add_argument("--burst", type=int, default=500, help="out-of-band edits to correct")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, BackgroundServer(create_app()) as emulator:
        root = Path(tmp)
        manifests = root / "manifests"
        manifests.mkdir()
        write_manifests(manifests, args.contacts)
        argv = [
            sys.executable, "-m", "reconciler", "run", str(manifests),
            "--target", emulator.url, "--token", f"user:{USER}",
            "--state-dir", str(root / "state"), "--owner", "bench",
            "--health-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
            "--poll-interval", f"{args.poll_interval}s", "--resync-interval", "24h",
            "--debounce", "1s", "--log-format", "json",
        ]  # fmt: skip
        http = httpx.Client(base_url=emulator.url, timeout=60)

        # 1. converge from an empty address book, then stop
        began = time.monotonic()
        first = Run(argv, root / "first.log")
        first.start()
        converge_seconds = time.monotonic() - began
        _, created_writes, _ = emulator_stats(http)
        first.stop()

        # 2. a restart over a converged book: one full pass, then idle polls
        _, before_writes, before = emulator_stats(http)
        began = time.monotonic()
        second = Run(argv, root / "second.log")
        second.start()
        restart_seconds = time.monotonic() - began
        time.sleep(2 * args.poll_interval)  # let our own first polls settle
        pid = second.process.pid
        lists0, writes0, methods0 = emulator_stats(http)
        restart = {m: n - before.get(m, 0) for m, n in methods0.items() if n != before.get(m, 0)}
        polls0 = second.metric("reconciler_polls_total", result="ok")
        passes0 = second.metric("reconciler_reconcile_total")
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        time.sleep(args.duration)
        cpu1, wall1 = cpu_seconds(pid), time.monotonic()
        lists1, writes1, methods1 = emulator_stats(http)
        polls = second.metric("reconciler_polls_total", result="ok") - polls0
        passes = second.metric("reconciler_reconcile_total") - passes0

        # 3. a burst of out-of-band edits: corrected in a few passes of batch calls
        burst = burst_edits(http, second, args.burst) if args.burst else None

        # 4. one manifest edited: a pass over that contact, not over the address book
        edit = manifest_edit(http, second, manifests)
        second.stop()

    other = sum(methods1.values()) - sum(methods0.values()) - (lists1 - lists0)
    cpu, wall = cpu1 - cpu0, wall1 - wall0
    print(f"contacts:                 {args.contacts}")
    print(f"first convergence:        {converge_seconds:.1f} s, {created_writes} write calls")
    print(
        f"restart (full pass):      {restart_seconds:.1f} s, "
        f"{writes0 - before_writes} writes, requests {restart}"
    )
    print(f"idle window:              {wall:.1f} s at --poll-interval {args.poll_interval:g}s")
    print(f"polls:                    {polls:.0f}")
    print(f"list calls per poll:      {(lists1 - lists0) / max(polls, 1):.2f}  (floor: 1)")
    print(f"other requests:           {other}")
    print(f"writes:                   {writes1 - writes0}  (floor: 0)")
    print(f"passes while idle:        {passes:.0f}")
    print(f"controller CPU:           {cpu:.2f} s over {wall:.1f} s ({100 * cpu / wall:.1f}%)")
    print(f"CPU per poll:             {1000 * cpu / max(polls, 1):.1f} ms")
    if burst is not None:
        took, burst_passes, used = burst
        print(f"burst of {args.burst} edits:  corrected in {took:.1f} s, {burst_passes:.0f} passes")
        print(f"burst requests:           {used}")
    took, used = edit
    print(f"one manifest edited:      applied in {took:.1f} s (debounce 1 s), requests {used}")
    print(f"exit codes:               first {first.process.returncode}, "
          f"second {second.process.returncode}")  # fmt: skip


if __name__ == "__main__":
    main()
