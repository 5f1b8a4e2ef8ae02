"""A Workspace domain on one replica: N accounts of M contacts converged from empty.

One ``reconciler run --config`` subprocess keeps N accounts (each its own manifests folder of M
contacts in a few groups) converged against one emulator served over HTTP in another subprocess
with ``--latency-ms`` per request (50 by default). For each point the script prints:

- converge time: from starting the controller until every account's address book holds its M
  contacts (checked through the emulator's admin dump, a few accounts at a time);
- requests per account, counted by the emulator, beside the floor (one pass of batch calls from an
  empty book: the listings, one create per group, one batch create per 200 contacts; plus what
  safety costs: the ``people/me`` read that tells accounts' address books apart, the write lease
  taken and given back, the listing that shows the creates first), with the methods that went
  over it and the 429s and 5xx answered;
- controller and emulator RSS (peak, sampled from /proc) and CPU seconds;
- ``/healthz`` latency p50/p99/max sampled every 50 ms while converging, and failed probes;
- the latency of a manifest edit made mid-convergence (one contact renamed in the first account
  seen converged while others are still converging) until it is live;
- the controller's log lines (and how many say "requeued");
- with ``--rest S``: the controller's RSS S seconds after convergence, when the accounts hold
  only their compact indexes (our writes' answers are dropped 30 s after them, at a poll).

Points are ``NxM`` (``--point 10x200 --point 100x1000``); ``--quick`` is the default set
(10x200 and 100x200); ``--full`` is the issue's set: 10x200, 100x200, 1000x200, 100x1000.

    python bench/domain.py [--point NxM ...] [--full] [--latency-ms 50] [--limit 900] [--rest 70]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from contact_yaml import contact_doc

from reconciler.model import read_stamp

QUICK = ["10x200", "100x200"]
FULL = ["10x200", "100x200", "1000x200", "100x1000"]
GROUPS = 2  # per account: a team and a site group, as a directory-fed domain would have
OWNER = "bench"
PER_FILE = 500


# -- data ----------------------------------------------------------------------------------------


def subject(i: int) -> str:
    return f"user{i:05d}@example.com"


def write_account(folder: Path, contacts: int) -> None:
    """M contacts in GROUPS groups, PER_FILE to a file (person-00000 is in people-000.yaml)."""
    folder.mkdir(parents=True)
    groups = [
        f"apiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {{name: team-{g}}}\n"
        f"spec: {{name: Team {g}}}\n"
        for g in range(GROUPS)
    ]
    (folder / "groups.yaml").write_text("---\n".join(groups))
    for start in range(0, contacts, PER_FILE):
        docs = []
        for i in range(start, min(contacts, start + PER_FILE)):
            docs.append(contact_doc(i, phone=True, title="Engineer", group=f"team-{i % GROUPS}"))
        (folder / f"people-{start // PER_FILE:03d}.yaml").write_text("---\n".join(docs))


def write_domain(root: Path, accounts: int, contacts: int) -> Path:
    """Every account's manifests and the accounts file; returns the file."""
    lines = ["accounts:"]
    for i in range(accounts):
        write_account(root / "manifests" / f"u{i:05d}", contacts)
        lines.append(f"  - {{subject: {subject(i)}, manifests: manifests/u{i:05d}}}")
    config = root / "accounts.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def floor(contacts: int) -> int:
    """Requests one account needs from an empty book, in one pass of batch calls, plus what
    safety costs: the same-address-book check, the write lease taken and given back, and the
    listing that shows the creates before the lease is given back."""
    return (
        1  # connections.list (one page: empty)
        + 1  # contactGroups.list
        + GROUPS  # contactGroups.create, one each (no batch form)
        + math.ceil(contacts / 200)  # batchCreateContacts
        + 1  # people.get people/me: which address book the account is (several accounts)
        + 2  # the write lease: taken (the first time, the lease group's create), given back
        + math.ceil(contacts / 1000)  # connections.list showing the creates, before that
    )


# -- processes -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def emulator(latency_ms: float) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``reconciler emulator`` on a free port, in its own process."""
    argv = [sys.executable, "-m", "reconciler", "emulator", "--port", "0"]
    argv += ["--latency-ms", str(latency_ms)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "listening on" not in line:
            sys.exit(f"the emulator did not start: {line!r}")
        yield process, line.rsplit(" ", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


@dataclass
class Sampler:
    """Probes /healthz every ``every`` seconds and samples RSS, on a thread, until stopped."""

    url: str
    pids: dict[str, int]
    every: float = 0.05
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    peak_rss: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        with httpx.Client(timeout=60) as http:
            last_rss = 0.0
            while not self._stop.is_set():
                began = time.perf_counter()
                try:
                    status = http.get(self.url).status_code
                    if status != 200:
                        self.failures[str(status)] += 1
                except httpx.HTTPError as error:
                    self.failures[type(error).__name__] += 1
                took = time.perf_counter() - began
                self.latencies.append(took)
                if began - last_rss > 0.5:
                    last_rss = began
                    for name, pid in self.pids.items():
                        with suppress(OSError):  # the process may just have exited
                            self.peak_rss[name] = max(self.peak_rss.get(name, 0.0), rss_mb(pid))
                self._stop.wait(max(0.0, self.every - took))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# -- one point -----------------------------------------------------------------------------------


@dataclass
class Result:
    accounts: int
    contacts: int
    converged: bool
    seconds: float
    requests: Counter[str]
    statuses: Counter[str]
    cpu: dict[str, float]
    rss: dict[str, float]
    rss_end: dict[str, float]
    healthz: list[float]
    healthz_failures: Counter[str]
    edit_seconds: float | None
    edit_note: str
    log_lines: int
    requeued_lines: int
    rest_rss: float | None


def managed(book: dict[str, Any]) -> Counter[str]:
    """Manifest name -> how many live contacts carry our stamp with it."""
    return Counter(
        stamp.name
        for p in book.get("people", [])
        if (stamp := read_stamp(p.get("clientData"))) is not None
    )


def converged_accounts(http: httpx.Client, users: list[str], contacts: int) -> set[str]:
    """Those of ``users`` whose book holds each of the M contacts exactly once."""
    done: set[str] = set()
    for start in range(0, len(users), 20):
        chunk = users[start : start + 20]
        books = http.get("/__emulator/dump", params=[("user", u) for u in chunk]).json()["users"]
        for user, book in books.items():
            names = managed(book)
            if len(names) == contacts and max(names.values()) == 1:
                done.add(user)
    return done


def given_name(http: httpx.Client, user: str, name: str) -> str | None:
    book = http.get("/__emulator/dump", params={"user": user}).json()["users"].get(user, {})
    for person in book.get("people", []):
        stamp = read_stamp(person.get("clientData"))
        if stamp is not None and stamp.name == name:
            return str(person["names"][0]["givenName"])
    return None


def wait_for(check: Callable[[], Any], what: str, limit: float, process: Any) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the controller exited ({process.returncode}) waiting for {what}")
        value = check()
        if value:
            return value
        time.sleep(0.2)
    return None


def run_point(
    accounts: int,
    contacts: int,
    latency_ms: float,
    limit: float,
    rest: float,
    keep_log: Path | None = None,
    run_args: tuple[str, ...] = (),
) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-domain-") as tmp, emulator(latency_ms) as emu:
        root = Path(tmp)
        config = write_domain(root, accounts, contacts)
        emu_process, url = emu
        http = httpx.Client(base_url=url, timeout=120)
        log = root / "controller.log"
        argv = [
            sys.executable, "-m", "reconciler", "run", "--config", str(config),
            "--target", url, "--state", str(root / "state" / "embedded.sqlite3"),
            "--owner", OWNER, "--health-addr", "127.0.0.1:0", "--metrics-addr", "0",
            "--poll-interval", "30s", "--resync-interval", "10m", "--debounce", "1s",
            "--log-format", "json", *run_args,
        ]  # fmt: skip
        users = [subject(i) for i in range(accounts)]
        began = time.monotonic()
        with log.open("wb") as sink:
            controller = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        try:

            def serving() -> str | None:
                for line in log.read_text(errors="replace").splitlines():
                    if line.startswith("{") and '"serving"' in line:
                        return str(json.loads(line)["address"])
                return None

            address = wait_for(serving, "the probes", 120, controller)
            if address is None:
                sys.exit("the controller never served its probes")
            sampler = Sampler(
                address + "/healthz", {"controller": controller.pid, "emulator": emu_process.pid}
            ).start()
            pending = list(users)
            edit: tuple[str, float] | None = None
            edit_seconds: float | None = None
            edit_note = ""
            deadline = began + limit
            while pending and time.monotonic() < deadline:
                if controller.poll() is not None:
                    sys.exit(f"the controller exited ({controller.returncode})")
                done = converged_accounts(http, pending, contacts)
                pending = [u for u in pending if u not in done]
                if edit is None and done:
                    edit_note = "mid-convergence" if pending else "after convergence"
                    edit = (sorted(done)[0], time.monotonic())
                    folder = root / "manifests" / f"u{users.index(edit[0]):05d}"
                    path = folder / "people-000.yaml"
                    text = path.read_text()
                    path.write_text(text.replace("givenName: Given0,", "givenName: Edited0,", 1))
                if (
                    edit is not None
                    and edit_seconds is None
                    and given_name(http, edit[0], "person-00000") == "Edited0"
                ):
                    edit_seconds = time.monotonic() - edit[1]
                time.sleep(0.5)
            seconds = time.monotonic() - began
            while edit is not None and edit_seconds is None and time.monotonic() < deadline:
                if given_name(http, edit[0], "person-00000") == "Edited0":
                    edit_seconds = time.monotonic() - edit[1]
                time.sleep(0.2)
            sampler.stop()
            stats = http.get("/__emulator/stats").json()
            pids = {"controller": controller.pid, "emulator": emu_process.pid}
            cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
            rss_end = {name: rss_mb(pid) for name, pid in pids.items()}
            rest_rss = None
            if rest:
                time.sleep(rest)
                rest_rss = rss_mb(controller.pid)
        finally:
            controller.send_signal(signal.SIGTERM)
            try:
                controller.wait(120)
            except subprocess.TimeoutExpired:
                controller.kill()
        lines = log.read_text(errors="replace").splitlines()
        if keep_log is not None:
            keep_log.write_text("\n".join(lines) + "\n")
        return Result(
            accounts=accounts,
            contacts=contacts,
            converged=not pending,
            seconds=seconds,
            requests=Counter(stats["by_method"]),
            statuses=Counter(stats["by_status"]),
            cpu=cpu,
            rss=sampler.peak_rss,
            rss_end=rss_end,
            healthz=sampler.latencies,
            healthz_failures=sampler.failures,
            edit_seconds=edit_seconds,
            edit_note=edit_note,
            log_lines=len(lines),
            requeued_lines=sum("requeued" in line for line in lines),
            rest_rss=rest_rss,
        )


def show(r: Result) -> None:
    total = sum(r.requests.values())
    fl = floor(r.contacts)
    per = total / r.accounts
    ms = [1000 * t for t in r.healthz]
    print(f"\n== {r.accounts} accounts x {r.contacts} contacts")
    state = "converged" if r.converged else "NOT converged"
    print(f"  {state + ' in':<26}{r.seconds:.1f} s")
    print(f"  {'requests / account':<26}{per:.2f}  (floor {fl}: {100 * (per - fl) / fl:+.1f}%)")
    for method, n in sorted(r.requests.items()):
        print(f"    {method:<40}{n / r.accounts:>8.2f} / account")
    errors = {s: n for s, n in r.statuses.items() if s != "200"}
    print(f"  {'non-200 answers':<26}{errors or 'none'}")
    print(
        f"  {'controller RSS':<26}peak {r.rss.get('controller', 0):.0f} MB, "
        f"end {r.rss_end['controller']:.0f} MB "
        f"({1024 * r.rss_end['controller'] / (r.accounts * r.contacts):.1f} KiB / contact)"
    )
    if r.rest_rss is not None:
        print(
            f"  {'controller RSS at rest':<26}{r.rest_rss:.0f} MB "
            f"({1024 * r.rest_rss / (r.accounts * r.contacts):.1f} KiB / contact)"
        )
    print(
        f"  {'emulator RSS':<26}peak {r.rss.get('emulator', 0):.0f} MB, "
        f"end {r.rss_end['emulator']:.0f} MB"
    )
    print(
        f"  {'CPU seconds':<26}controller {r.cpu['controller']:.1f}, "
        f"emulator {r.cpu['emulator']:.1f}"
    )
    if ms:
        print(
            f"  {'/healthz (ms)':<26}p50 {statistics.median(ms):.1f}, "
            f"p99 {percentile(ms, 0.99):.1f}, max {max(ms):.1f} over {len(ms)} probes; "
            f"failed: {dict(r.healthz_failures) or 'none'}"
        )
    edit = f"{r.edit_seconds:.1f} s" if r.edit_seconds is not None else "not applied"
    print(f"  {'edit applied':<26}{edit} ({r.edit_note or 'no account converged'}, debounce 1 s)")
    print(f"  {'controller log lines':<26}{r.log_lines} ({r.requeued_lines} 'requeued')")


def point(text: str) -> tuple[int, int]:
    try:
        n, m = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a point is NxM, like 100x200: {text!r}") from None
    return n, m


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", type=point, action="append", help="NxM; repeatable")
    parser.add_argument("--full", action="store_true", help="the issue's four points")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds per point")
    parser.add_argument(
        "--rest", type=float, default=0.0, help="seconds to wait after convergence for RSS at rest"
    )
    parser.add_argument("--keep-log", type=Path, help="copy the controller's log here")
    parser.add_argument(
        "--run-arg",
        action="append",
        default=[],
        help="extra flag for reconciler run, e.g. --run-arg=--concurrent-passes=8; repeatable",
    )
    args = parser.parse_args()
    points = args.point or [point(p) for p in (FULL if args.full else QUICK)]
    print(f"{os.cpu_count()} CPUs, emulator latency {args.latency_ms:g} ms")
    for n, m in points:
        result = run_point(
            n, m, args.latency_ms, args.limit, args.rest, args.keep_log, tuple(args.run_arg)
        )
        show(result)


if __name__ == "__main__":
    main()
