"""Accounts from the Directory: what a directory entry costs and how fast the running set follows.

One ``reconciler run --config`` subprocess with one directory entry (``orgUnitPath: /Domain``,
each user's manifests in ``users/{user}``) against one emulator served over HTTP in another
subprocess (``--latency-ms`` per request). The script seeds N users of M contacts, then prints:

- start: from starting the controller until every user's address book holds its M contacts;
- Directory requests per refresh (``users.list`` calls counted by the emulator, divided by the
  refreshes the controller counted), beside the floor: one call per 500 users;
- join: K users moved into the unit while it runs, until each has its contacts;
- leave: K users moved out, until the controller no longer runs them (``/status``), and that
  their contacts are all still there;
- failure: with every Directory call failing, how long until ``/readyz`` says so (``--api-grace``
  plus a refresh), whether the running accounts stay, and how long until ready again.

    python bench/directory.py [--users 200] [--contacts 20] [--moves 10] [--refresh 2s]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from contact_yaml import contact_doc
from domain import emulator, wait_for

ADMIN = "admin@example.com"


def user(i: int) -> str:
    return f"user{i:05d}@example.com"


def seed(http: httpx.Client, email: str, unit: str, **fields: Any) -> None:
    body = {"orgUnitPath": unit, **fields}
    http.put(f"/__emulator/directory/users/{email}", json=body).raise_for_status()


def write_users(root: Path, count: int, contacts: int) -> None:
    for i in range(count):
        folder = root / "users" / user(i).split("@")[0]
        folder.mkdir(parents=True)
        (folder / "contacts.yaml").write_text(
            "---\n".join(contact_doc(n) for n in range(contacts)), encoding="utf-8"
        )


def converged(http: httpx.Client, users: list[str], contacts: int) -> bool:
    for start in range(0, len(users), 50):
        params = [("user", u) for u in users[start : start + 50]]
        books = http.get("/__emulator/dump", params=params, timeout=120).json()["users"]
        if any(
            len(books.get(u, {}).get("people", [])) != contacts for u in users[start : start + 50]
        ):
            return False
    return True


def timed(check: Callable[[], Any], what: str, limit: float, process: Any) -> float:
    started = time.monotonic()
    if not wait_for(check, what, limit, process):
        sys.exit(f"gave up after {limit:.0f}s waiting for {what}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--contacts", type=int, default=20)
    parser.add_argument("--moves", type=int, default=10, help="users moved in, then out")
    parser.add_argument("--refresh", default="2s", help="the entry's refreshInterval")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=float, default=900.0)
    args = parser.parse_args()
    n, m, k = args.users, args.contacts, args.moves
    with tempfile.TemporaryDirectory() as folder, emulator(args.latency_ms) as (_, url):
        root = Path(folder)
        write_users(root, n + k, m)
        http = httpx.Client(base_url=url, timeout=60)
        seed(http, ADMIN, "/IT", isAdmin=True)
        for i in range(n):
            seed(http, user(i), "/Domain")
        for i in range(n, n + k):
            seed(http, user(i), "/Elsewhere")
        (root / "accounts.yaml").write_text(
            "directory:\n"
            f"  - {{name: domain, admin: {ADMIN}, orgUnitPath: /Domain,\n"
            f"     manifests: 'users/{{user}}', refreshInterval: {args.refresh}}}\n"
        )
        log = (root / "controller.log").open("wb")
        argv = [
            sys.executable, "-m", "reconciler", "run", "--config", str(root / "accounts.yaml"),
            "--target", url, "--state-dir", str(root / "state"), "--owner", "bench",
            "--health-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
            "--log-format", "json", "--api-grace", "3s", "--poll-interval", "30s",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            start = timed(
                lambda: converged(http, [user(i) for i in range(n)], m),
                "start",
                args.limit,
                process,
            )
            lines = (root / "controller.log").read_text().splitlines()
            serving = next(json.loads(x) for x in lines if '"serving"' in x)
            probe = httpx.Client(base_url=serving["address"], timeout=30)

            def running() -> int:
                return len(probe.get("/status").json()["accounts"])

            for i in range(n, n + k):
                seed(http, user(i), "/Domain")
            joined = [user(i) for i in range(n, n + k)]
            join = timed(lambda: converged(http, joined, m), "joiners", args.limit, process)
            for i in range(n, n + k):
                seed(http, user(i), "/Elsewhere")
            leave = timed(lambda: running() == n, "leavers to stop", args.limit, process)
            kept = converged(http, joined, m)
            refreshes = sum(
                float(line.rsplit(" ", 1)[1])
                for line in probe.get("/metrics").text.splitlines()
                if line.startswith("reconciler_directory_refreshes_total{")
            )
            stats = http.get("/__emulator/stats").json()["by_method"]
            lists = stats.get("directory.users.list", 0)
            http.patch("/__emulator/config", json={"directory_error_rate": 1.0})
            unready = timed(
                lambda: "directory domain" in probe.get("/readyz").text, "unready", 120, process
            )
            stayed = running()
            http.patch("/__emulator/config", json={"directory_error_rate": 0.0})
            ready = timed(lambda: probe.get("/readyz").status_code == 200, "ready", 120, process)
        finally:
            process.terminate()
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    print(f"users {n} x {m} contacts, refreshInterval {args.refresh}, latency {args.latency_ms} ms")
    print(f"start (all {n} converged):               {start:7.1f} s")
    print(
        f"users.list calls per refresh:           {lists / max(refreshes, 1):7.2f}"
        f"  (floor {-(-(n + k) // 500)}; {lists} calls, {refreshes:.0f} refreshes)"
    )
    print(f"{k} joiners converged:                   {join:7.1f} s")
    print(f"{k} leavers stopped:                     {leave:7.1f} s  (contacts kept: {kept})")
    print(f"Directory failing -> /readyz says so:    {unready:7.1f} s  (still running: {stayed})")
    print(f"Directory back -> ready:                 {ready:7.1f} s")


if __name__ == "__main__":
    main()
