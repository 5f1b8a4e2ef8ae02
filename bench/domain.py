"""A Workspace domain on one replica: N accounts of M contacts converged from empty.

One ``reconciler run --config`` subprocess keeps N accounts (each its own manifests folder of M
contacts in GROUPS groups) converged against one emulator served over HTTP in another subprocess,
with ``--latency-ms`` per request (50 by default). Per point it prints, with the issue's targets:

- converge time: from starting the controller until every account's address book holds each of
  its M contacts exactly once (read through the emulator's admin dump) [1,000 x 200: 10 min];
- requests per account, counted by the emulator when the last account converged, beside the
  floor of ``request_floor`` (what one account needs at least, by method, the design's safety
  requests named apart) [within 5%], and the 429s and 5xx answered;
- controller and emulator RSS: peak (sampled every 0.5 s) and at the end [1 GB];
- CPU seconds of both until convergence (the emulator's include the bench's own dump reads);
- ``/healthz`` latency p50/p99/max, probed every 50 ms while converging [p99 100 ms], from a
  process of its own (``bench/healthz_probe.py``);
- ``--edits`` manifest edits (20) made while the domain converges, in different accounts, some
  converged and some not yet (``manifest_edits``): p50/p99/max of the time until each is live
  [p99 10 s];
- the load average at the start and at the end, so that figures from a busy machine show it;
- the controller's log lines (and how many say "requeued");
- with ``--loop-profile FILE``: what held the controller's event loop (``loop_stalls``);
- with ``--rest S``: the controller's RSS S seconds after convergence, when the accounts hold
  only their compact indexes (our writes' answers are dropped ~30 s after the pass);
- with ``--quotas``: the emulator enforces the controller's default budgets as Google's quotas,
  per user and per project, in Google's units (``reconciler.model.quotas``), so the 429s
  count what a project whose limits are those budgets would refuse [0].

Points are ``NxM`` (``--point 10x200 --point 100x1000``); ``--quick`` is the default set
(10x200 and 100x200); ``--full`` is the issue's set: 10x200, 100x200, 1000x200, 100x1000.

    python bench/domain.py [--point NxM ...] [--full] [--latency-ms 50] [--limit 900] [--edits 20]
"""

from __future__ import annotations

import argparse
import json
import signal
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
from manifest_edits import Edit, EditRun
from measures import Repeat, cpu_seconds, load_average, rss_mb, spread, stop_process
from request_floor import (
    BATCH_UPDATE,
    LISTING,
    api_floor,
    from_emulator,
    identity_check,
    lease,
    visibility,
)

from reconciler.controller.pollschedule import poll_interval
from reconciler.model import read_stamp
from reconciler.people.pacing import PacingConfig

QUICK = ["10x200", "100x200"]
FULL = ["10x200", "100x200", "1000x200", "100x1000"]
GROUPS = 2  # per account: a team and a site group, as a directory-fed domain would have
OWNER = "bench"
PER_FILE = 500
POLL_INTERVAL = 30.0  # the controller's default --poll-interval (stretched for many accounts)
READS_PER_MINUTE = 3000.0  # the controller's default --project-reads-per-minute
EDIT_GRACE = 120.0  # seconds after convergence to wait for the last edits to be live


# -- data ----------------------------------------------------------------------------------------


def subject(i: int) -> str:
    return f"user{i:05d}@example.com"


def folder_name(user: str) -> str:
    return "u" + user.removeprefix("user").split("@")[0]


def file_name(index: int) -> str:
    """The manifest file that holds contact ``index``."""
    return f"people-{index // PER_FILE:03d}.yaml"


def write_account(folder: Path, contacts: int) -> None:
    """M contacts in GROUPS groups, PER_FILE to a file (``file_name``)."""
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
        (folder / file_name(start)).write_text("---\n".join(docs))


def write_domain(root: Path, accounts: int, contacts: int) -> Path:
    """Every account's manifests and the accounts file; returns the file."""
    lines = ["accounts:"]
    for i in range(accounts):
        folder = folder_name(subject(i))
        write_account(root / "manifests" / folder, contacts)
        lines.append(f"  - {{subject: {subject(i)}, manifests: manifests/{folder}}}")
    config = root / "accounts.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


def floor(accounts: int, contacts: int) -> Counter[str]:
    """Requests one account of ``contacts`` in GROUPS groups needs at least, from an empty book,
    by method: the API's share (one listing, one groups listing, the groups' creates, the batch
    creates) and the safety the design keeps: the write lease taken (found in that groups
    listing, when the claim comes first) and given back once a listing shows the creates, and
    the profile read that tells accounts apart."""
    return (
        api_floor(listed=0, groups_created=GROUPS, created=contacts)
        + lease(group_exists=False, own_listing=False)
        + visibility(listed=0, created=contacts)
        + identity_check(accounts)
    )


# -- processes -----------------------------------------------------------------------------------


@contextmanager
def emulator(
    latency_ms: float, quotas: bool = False
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``reconciler emulator`` on a free port, in its own process (``quotas``: enforcing the
    controller's default budgets)."""
    argv = [sys.executable, "-m", "reconciler", "emulator", "--port", "0"]
    argv += ["--latency-ms", str(latency_ms)]
    if quotas:
        argv += quota_flags()
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


def quota_flags() -> list[str]:
    """The emulator's quota flags set to the controller's default budgets (per user and per
    project, every quota both know)."""
    pacing = PacingConfig()
    budgets = {
        "read": pacing.reads_per_minute,
        "write": pacing.writes_per_minute,
        "group-read": pacing.group_reads_per_minute,
        "group-write": pacing.group_writes_per_minute,
        "project-read": pacing.project_reads_per_minute,
        "project-write": pacing.project_writes_per_minute,
        "project-group-read": pacing.project_group_reads_per_minute,
        "project-group-write": pacing.project_group_writes_per_minute,
    }
    return [f"--{name}-quota-per-minute={int(value or 0)}" for name, value in budgets.items()]


@dataclass
class Sampler:
    """Probes /healthz every ``every`` seconds from a process of its own
    (``bench/healthz_probe.py``: a thread here would wait for this process's own work, such as
    decoding dumps) and samples RSS every half second on a thread, from :meth:`start` until
    :meth:`stop`."""

    url: str
    pids: dict[str, int]
    every: float = 0.05
    probes: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds taken)
    failures: Counter[str] = field(default_factory=Counter)
    peak_rss: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._repeat = Repeat(self._rss, 0.5, "rss-sampler")
        self._prober: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> Sampler:
        probe = Path(__file__).with_name("healthz_probe.py")
        self._prober = subprocess.Popen(
            [sys.executable, str(probe), self.url, str(self.every)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True, name="healthz-reader")
        self._reader.start()
        self._repeat.start()
        return self

    def stop(self) -> None:
        self._repeat.stop()
        if self._prober is not None:
            self._prober.terminate()
            self._prober.wait(30)
        if self._reader is not None:
            self._reader.join(30)

    def latencies_until(self, moment: float) -> list[float]:
        """Seconds each probe took, of the probes sent before ``moment`` (monotonic)."""
        return [took for when, took in self.probes if when <= moment]

    def _read(self) -> None:
        assert self._prober is not None
        assert self._prober.stdout is not None
        for line in self._prober.stdout:
            began, took, result = line.split()
            if result != "200":
                self.failures[result] += 1
            self.probes.append((float(began), float(took)))

    def _rss(self) -> None:
        for name, pid in self.pids.items():
            with suppress(OSError):  # the process may just have exited
                self.peak_rss[name] = max(self.peak_rss.get(name, 0.0), rss_mb(pid))


# -- one point -----------------------------------------------------------------------------------


@dataclass
class Result:
    accounts: int
    contacts: int
    converged: bool
    seconds: float
    requests: Counter[str]  # by the client's method names, when the last account converged
    statuses: Counter[str]  # "status method" -> answers
    refused: Counter[str]  # quota limit id -> 429s it answered (the emulator's count)
    emulator_gc: dict[str, float]  # the emulator's collection pauses when the last converged
    cpu: dict[str, float]  # when the last account converged
    rss: dict[str, float]
    rss_end: dict[str, float]
    healthz: list[float]  # while converging
    healthz_failures: Counter[str]
    edits: list[Edit]
    counted_updates: int  # edits applied before the count, of contacts that were live
    log_lines: int
    requeued_lines: int
    rest_rss: float | None
    watched: float  # seconds from the start until the controller watched the manifests
    load_start: str
    load_end: str


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
    *,
    latency_ms: float,
    limit: float,
    edits: int,
    rest: float,
    keep_log: Path | None = None,
    run_args: tuple[str, ...] = (),
    loop_profile: Path | None = None,
    quotas: bool = False,
) -> Result:
    with (
        tempfile.TemporaryDirectory(prefix="bench-domain-") as tmp,
        emulator(latency_ms, quotas) as emu,
    ):
        root = Path(tmp)
        config = write_domain(root, accounts, contacts)
        emu_process, url = emu
        http = httpx.Client(base_url=url, timeout=120)
        log = root / "controller.log"
        command = [sys.executable, "-m", "reconciler"]
        if loop_profile is not None:
            stalls = Path(__file__).with_name("loop_stalls.py")
            command = [sys.executable, str(stalls), "--out", str(loop_profile), "--"]
        argv = [
            *command, "run", "--config", str(config),
            "--target", url, "--state", str(root / "state" / "embedded.sqlite3"),
            "--owner", OWNER, "--health-addr", "127.0.0.1:0", "--metrics-addr", "0",
            "--poll-interval", f"{POLL_INTERVAL:g}s", "--resync-interval", "10m",
            "--debounce", "1s", "--log-format", "json", *run_args,
        ]  # fmt: skip
        users = [subject(i) for i in range(accounts)]
        load_start = load_average()
        began = time.monotonic()
        with log.open("wb") as sink:
            controller = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        pids = {"controller": controller.pid, "emulator": emu_process.pid}
        try:

            def serving() -> str | None:
                for line in log.read_text(errors="replace").splitlines():
                    if line.startswith("{") and '"serving"' in line:
                        return str(json.loads(line)["address"])
                return None

            address = wait_for(serving, "the probes", 120, controller)
            if address is None:
                sys.exit("the controller never served its probes")

            def watching() -> bool:
                status = http.get(address + "/status", timeout=30).json()
                return bool(status.get("watch", {}).get("mode", "starting") != "starting")

            # An edit counts from the moment the controller has looked at the manifests (its
            # watch attached): one made before that is the state it starts from.
            if not wait_for(watching, "the manifests watch", 120, controller):
                sys.exit("the controller never watched the manifests")
            watched = time.monotonic() - began
            sampler = Sampler(address + "/healthz", pids).start()
            editor = EditRun(
                http,
                folder_of=lambda user: root / "manifests" / folder_name(user),
                file_of=file_name,
                count=min(edits, contacts),  # one contact each
                limit=limit,
            ).start()
            done: list[str] = []
            pending = list(users)
            deadline = began + limit
            while time.monotonic() < deadline:
                if controller.poll() is not None:
                    sys.exit(f"the controller exited ({controller.returncode})")
                now_done = converged_accounts(http, pending, contacts)
                done += sorted(now_done)
                pending = [u for u in pending if u not in now_done]
                if not pending:
                    break
                editor.make_due(done, pending, time.monotonic() - began)
                time.sleep(0.5)
            counted_at = time.monotonic()
            stats = http.get("/__emulator/stats").json()
            cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
            counted_updates = sum(
                e.contact_live and e.applied is not None and e.applied <= counted_at
                for e in editor.edits
            )
            editor.make_due(done, pending, limit)  # those not made yet, after convergence
            editor.wait(min(deadline, counted_at + EDIT_GRACE))
            editor.stop()
            sampler.stop()
            rss_end = {name: rss_mb(pid) for name, pid in pids.items()}
            rest_rss = None
            if rest:
                time.sleep(rest)
                rest_rss = rss_mb(controller.pid)
        finally:
            stop_process(controller)
        lines = log.read_text(errors="replace").splitlines()
        if keep_log is not None:
            keep_log.write_text("\n".join(lines) + "\n")
        return Result(
            accounts=accounts,
            contacts=contacts,
            converged=not pending,
            seconds=counted_at - began,
            requests=from_emulator(stats["by_method"]),
            statuses=Counter(
                {
                    f"{status} {method}": count
                    for method, counts in stats["by_method_status"].items()
                    for status, count in counts.items()
                }
            ),
            refused=Counter(stats.get("refused_by_limit", {})),
            emulator_gc=stats.get("gc_pauses", {}),
            cpu=cpu,
            rss=sampler.peak_rss,
            rss_end=rss_end,
            healthz=sampler.latencies_until(counted_at),
            healthz_failures=sampler.failures,
            edits=editor.edits,
            counted_updates=counted_updates,
            log_lines=len(lines),
            requeued_lines=sum("requeued" in line for line in lines),
            rest_rss=rest_rss,
            watched=watched,
            load_start=load_start,
            load_end=load_average(),
        )


# -- printing ------------------------------------------------------------------------------------


def show_requests(r: Result) -> None:
    """Requests per account against the floor, overall and by method."""
    n = r.accounts
    need = floor(n, r.contacts)
    api = api_floor(listed=0, groups_created=GROUPS, created=r.contacts)
    total_floor = n * sum(need.values()) + r.counted_updates
    sent = sum(r.requests.values())
    when = "when the last converged" if r.converged else "at the time limit"
    print(
        f"  {'requests / account':<26}{sent / n:.2f}  against a floor of {total_floor / n:.2f}: "
        f"{100 * (sent - total_floor) / total_floor:+.1f}%  (counted {when})"
    )
    safety = sum(need.values()) - sum(api.values())
    print(
        f"  {'floor / account':<26}{sum(api.values())} for the API + {safety} for safety "
        f"(lease, its listing, profile read) + {r.counted_updates / n:.2f} for edits"
    )
    interval = poll_interval(POLL_INTERVAL, n, READS_PER_MINUTE)
    polls = r.seconds / interval
    print(f"    {'method':<38}{'sent':>8}{'floor':>8}  (per account)")
    for method in sorted(set(r.requests) | set(need)):
        wanted = need.get(method, 0) + (r.counted_updates / n if method == BATCH_UPDATE else 0)
        note = (
            f"  incl. <= {polls:.1f} polls, one per {interval:g} s (fewer: deferred while "
            "passes wait)"
            if method == LISTING
            else ""
        )
        print(f"    {method:<38}{r.requests.get(method, 0) / n:>8.2f}{wanted:>8.2f}{note}")
    errors = {s: count for s, count in r.statuses.items() if not s.startswith("200 ")}
    print(f"  {'non-200 answers':<26}{errors or 'none'}")
    if r.refused:
        print(f"  {'429s by quota limit':<26}{dict(r.refused)}")


def show_edits(r: Result) -> None:
    """The spread of the edits' latencies, overall and by the account's state when edited."""
    applied = [s for e in r.edits if (s := e.seconds) is not None]
    mid_run = sum(e.mid_run for e in r.edits)
    print(
        f"  {'edits live (s)':<26}{spread(applied)} over {len(applied)} of {len(r.edits)} "
        f"made, {mid_run} of them mid-convergence (not live: {len(r.edits) - len(applied)})"
    )
    for label, converged in (("in converged accounts", True), ("in accounts converging", False)):
        group = [e for e in r.edits if e.account_converged == converged]
        times = [s for e in group if (s := e.seconds) is not None]
        print(f"    {label:<36}{len(group):>3} made: {spread(times)}")
    for e in sorted(r.edits, key=lambda e: e.made):
        made = time.strftime("%H:%M:%S", time.gmtime(e.made_at)) + f"{e.made_at % 1:.3f}"[1:]
        took = "not live" if e.seconds is None else f"{e.seconds:.1f} s"
        state = "converged" if e.account_converged else "converging"
        print(f"    edit {e.index:>2} at {made} UTC, {e.user} ({state}): {took}")


def show(r: Result) -> None:
    ms = [1000 * t for t in r.healthz]
    state = "converged" if r.converged else "NOT converged"
    print(f"\n== {r.accounts} accounts x {r.contacts} contacts")
    print(f"  {'load average at start':<26}{r.load_start}")
    print(f"  {state + ' in':<26}{r.seconds:.1f} s")
    print(f"  {'manifests watched after':<26}{r.watched:.1f} s (the edits are made from then on)")
    show_requests(r)
    per_contact = 1024 / (r.accounts * r.contacts)
    print(
        f"  {'controller RSS':<26}peak {r.rss.get('controller', 0):.0f} MB, "
        f"end {r.rss_end['controller']:.0f} MB ({r.rss_end['controller'] * per_contact:.1f} "
        "KiB / contact)"
    )
    if r.rest_rss is not None:
        print(
            f"  {'controller RSS at rest':<26}{r.rest_rss:.0f} MB "
            f"({r.rest_rss * per_contact:.1f} KiB / contact)"
        )
    print(
        f"  {'emulator RSS':<26}peak {r.rss.get('emulator', 0):.0f} MB, "
        f"end {r.rss_end['emulator']:.0f} MB"
    )
    gc_ = r.emulator_gc
    if gc_:
        print(
            f"  {'emulator gc pauses':<26}{gc_['count']} collections, {gc_['total']:.2f} s in all,"
            f" longest {1000 * gc_['max']:.0f} ms; {gc_['full_count']} full ones,"
            f" {gc_['full_total']:.2f} s, longest {1000 * gc_['full_max']:.0f} ms"
        )
    print(
        f"  {'CPU seconds to converge':<26}controller {r.cpu['controller']:.1f} "
        f"({1000 * r.cpu['controller'] / (r.accounts * r.contacts):.2f} ms / contact), "
        f"emulator {r.cpu['emulator']:.1f} (with the bench's reads)"
    )
    print(
        f"  {'/healthz while converging':<26}{spread(ms, ' ms')} over {len(ms)} probes; "
        f"failed: {dict(r.healthz_failures) or 'none'}"
    )
    show_edits(r)
    print(f"  {'controller log lines':<26}{r.log_lines} ({r.requeued_lines} 'requeued')")
    print(f"  {'load average at end':<26}{r.load_end}")


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
    parser.add_argument("--edits", type=int, default=20, help="manifest edits made per point")
    parser.add_argument(
        "--rest", type=float, default=0.0, help="seconds to wait after convergence for RSS at rest"
    )
    parser.add_argument("--keep-log", type=Path, help="copy the controller's log here")
    parser.add_argument(
        "--loop-profile",
        type=Path,
        help="run the controller under loop_stalls.py and write what held its loop here",
    )
    parser.add_argument(
        "--quotas",
        action="store_true",
        help="the emulator enforces the controller's default budgets as the project's quotas",
    )
    parser.add_argument(
        "--run-arg",
        action="append",
        default=[],
        help="extra flag for reconciler run, e.g. --run-arg=--concurrent-passes=8; repeatable",
    )
    args = parser.parse_args()
    points = args.point or [point(p) for p in (FULL if args.full else QUICK)]
    print(f"emulator latency {args.latency_ms:g} ms; load average {load_average()}")
    for n, m in points:
        result = run_point(
            n,
            m,
            latency_ms=args.latency_ms,
            limit=args.limit,
            edits=args.edits,
            rest=args.rest,
            keep_log=args.keep_log,
            run_args=tuple(args.run_arg),
            loop_profile=args.loop_profile,
            quotas=args.quotas,
        )
        show(result)


if __name__ == "__main__":
    main()
