"""What the controller's write leases cost, and how soon its first passes start.

One ``reconciler run --config`` subprocess keeps N accounts of M contacts against one emulator
served over HTTP in another subprocess (``--latency-ms`` per request, 50 by default), as
``bench/domain.py`` does. The script prints, counted by the emulator (exact):

- start-up: seconds from starting the controller until it has opened every account (the log's
  ``accounts opened``) and until its first pass finished;
- lease writes per account while converging from empty: contact group creates and updates
  beyond the account's own groups (the lease group's create, claims, renewals, releases);
- lease writes per account over ``--idle`` seconds after convergence, when nothing changes;
- with ``--startup-only`` it stops after the first pass (for the 1,000-account start-up figure
  without waiting for the whole domain to converge).

A controller that held each lease for its whole life renewed it every 40 s: 1.5 writes per
account per idle minute. One that holds it only while writing spends none.

    python bench/lease.py [--accounts 20] [--contacts 50] [--idle 120] [--startup-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from domain import GROUPS, OWNER, converged_accounts, emulator, subject, write_domain
from measures import stop_process

GROUP_WRITES = ("people.contactGroups.create", "people.contactGroups.update")


def group_writes(http: httpx.Client) -> int:
    stats = Counter(http.get("/__emulator/stats").json()["by_method"])
    return sum(stats[method] for method in GROUP_WRITES)


def first_event(log: Path, event: str) -> bool:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and json.loads(line).get("event") == event:
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--contacts", type=int, default=50)
    parser.add_argument("--idle", type=float, default=120.0, help="seconds idle after converging")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds to converge at most")
    parser.add_argument("--startup-only", action="store_true", help="stop after the first pass")
    parser.add_argument("--run-arg", action="append", default=[], help="extra flag for run")
    args = parser.parse_args()
    n = args.accounts
    with (
        tempfile.TemporaryDirectory(prefix="bench-lease-") as tmp,
        emulator(args.latency_ms) as emu,
    ):
        root = Path(tmp)
        config = write_domain(root, n, args.contacts)
        _, url = emu
        http = httpx.Client(base_url=url, timeout=120)
        log = root / "controller.log"
        argv = [
            sys.executable, "-m", "reconciler", "run", "--config", str(config),
            "--target", url, "--state-dir", str(root / "state"), "--owner", OWNER,
            "--health-addr", "0", "--metrics-addr", "0", "--poll-interval", "30s",
            "--resync-interval", "10m", "--log-format", "json", *args.run_arg,
        ]  # fmt: skip
        began = time.monotonic()
        with log.open("wb") as sink:
            controller = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT)
        opened = first_pass = None
        users = [subject(i) for i in range(n)]
        try:
            while first_pass is None and time.monotonic() - began < args.limit:
                if controller.poll() is not None:
                    sys.exit(f"the controller exited ({controller.returncode})")
                if opened is None and first_event(log, "accounts opened"):
                    opened = time.monotonic() - began
                if first_event(log, "pass finished"):
                    first_pass = time.monotonic() - began
                time.sleep(0.1)
            print(f"{n} accounts x {args.contacts} contacts, latency {args.latency_ms:g} ms")
            print(f"  accounts opened after      {opened:.1f} s" if opened else "  not opened")
            print(f"  first pass finished after  {first_pass:.1f} s" if first_pass else "  none")
            if args.startup_only:
                return
            pending = list(users)
            while pending and time.monotonic() - began < args.limit:
                done = converged_accounts(http, pending, args.contacts)
                pending = [u for u in pending if u not in done]
                time.sleep(0.5)
            converged = time.monotonic() - began
            state = "converged" if not pending else f"NOT converged ({len(pending)} left)"
            print(f"  {state} after {converged:.1f} s")
            at_converge = group_writes(http) - GROUPS * len(users)
            print(f"  lease writes / account while converging: {at_converge / n:.2f}")
            time.sleep(args.idle)
            idle = group_writes(http) - GROUPS * len(users) - at_converge
            print(
                f"  lease writes / account over {args.idle:g} s idle: {idle / n:.2f} "
                f"({60 * idle / n / args.idle:.2f} a minute)"
            )
        finally:
            stop_process(controller)
        after_stop = group_writes(http) - GROUPS * len(users)
        print(f"  lease writes / account in all, stop included: {after_stop / n:.2f}")


if __name__ == "__main__":
    main()
