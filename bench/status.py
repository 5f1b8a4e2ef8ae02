"""How fast ``/status`` and the status page answer with many accounts.

Running 1,000 real accounts (1,000 clients, pollers and workers) measures the controller, not
its status; so this feeds the status model directly, the way the account loop does: each account
loads ``--contacts`` manifests, runs a full pass, and a share of them ends with drifted contacts,
conflicts waiting for their next attempt and a failed pass. The model is then served by the
controller's own HTTP server and routes on 127.0.0.1, and each path is fetched ``--requests``
times over real HTTP. Printed: the latency (median and 95th percentile) and size of each answer,
and the time to build the model. The last two rows fetch again after a pass finished in a tenth of
the accounts, since an account's summary is kept until it changes.

    python bench/status.py [--accounts 1000] [--contacts 50] [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from measures import percentile

from reconciler.controller.labels import subject_label
from reconciler.controller.serving import SmallHttpServer
from reconciler.controller.status import StatusBoard
from reconciler.controller.statusroutes import status_prefix_routes, status_routes


def build(accounts: int, contacts: int) -> StatusBoard:
    """A board of ``accounts`` accounts of ``contacts`` contacts each; every 10th has trouble."""
    board = StatusBoard()
    names = [f"person-{i:05d}" for i in range(contacts)]
    for n in range(accounts):
        account = board.account(
            subject_label(f"user{n}@example.com"), drift_policy="correct", suspended=False
        )
        account.manifests_loaded(contacts=names, revision=f"{n:040x}")
        account.pass_started(["*"], ["start"])
        account.applied([(k, "unchanged", "", f"people/c{n}x{k}") for k in names], live=set())
        account.pass_finished("success", {"unchanged": contacts})
        account.full_pass_done()
        if n % 10 == 0:  # some trouble to show: drift, a conflict in backoff, a failed pass
            account.drift_checked({names[0]: "names"}, [names[0]])
            account.applied([(names[1], "conflict", "etag changed", None)], live=set())
            account.queued(names[1], 30.0, "conflict", retries=2)
            account.pass_finished("error", {}, "reading live state failed: HTTP 503")
    return board


async def measure(board: StatusBoard, requests: int) -> None:
    server = SmallHttpServer(status_routes(board), status_prefix_routes(board))
    host, port = await server.start("127.0.0.1", 0)
    names = sorted(board.accounts)
    first = names[0]
    paths = ["/status", "/", f"/status/{first}", f"/accounts/{first}"]
    churn = max(1, len(names) // 10)
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=60) as http:
            print(f"{'path':<28} {'median ms':>10} {'p95 ms':>10} {'bytes':>12}")
            for path, busy in [(p, False) for p in paths] + [("/status", True), ("/", True)]:
                times: list[float] = []
                size = 0
                for n in range(requests):
                    if busy:  # a pass finished in a tenth of the accounts since the last fetch
                        for name in names[n * churn % len(names) :][:churn]:
                            board.accounts[name].pass_finished("success", {"unchanged": 1})
                    started = time.perf_counter()
                    response = await http.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    size = len(response.content)
                times.sort()
                p95 = percentile(times, 0.95)
                shown = path if len(path) < 28 else path[:25] + "..."
                shown = f"{path} ({churn} changed)" if busy else shown
                print(f"{shown:<28} {statistics.median(times):>10.1f} {p95:>10.1f} {size:>12,}")
    finally:
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=50, help="managed contacts per account")
    parser.add_argument("--requests", type=int, default=50, help="fetches of each path")
    args = parser.parse_args()
    started = time.perf_counter()
    board = build(args.accounts, args.contacts)
    built = time.perf_counter() - started
    total = args.accounts * args.contacts
    print(
        f"status model: {args.accounts:,} accounts, {total:,} contacts, "
        f"built in {built:.2f} s (fed directly, not by 1,000 running accounts)"
    )
    asyncio.run(measure(board, args.requests))


if __name__ == "__main__":
    main()
