"""How long the event loop stalls while accounts converge: the lag of a 1 ms ticker.

A controller serves every account, its probes and its metrics from one event loop; any
stretch of CPU work on it delays all of them (``/healthz`` answers late). This script runs what
the controller runs for K accounts of M contacts each, at once, through one replica's shared
pool (``open_replica``), against the emulator in its own process (50 ms per request), and
beside them a task that sleeps 1 ms at a time and records how late it wakes:

- a first pass from empty (listing, plan, group and contact creates, journal);
- a second pass with nothing to do (a full listing and a plan of M contacts);

and prints the ticker's lag p50/p99/max and the wall time of each phase. The lag is what
``/healthz`` would add to its answer at that moment. ``bench/domain.py`` measures the same
under a whole domain; this isolates the passes from start-up, watching and leases.

    python bench/loop_lag.py [--accounts 4] [--contacts 1000] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from contact_yaml import contact_doc
from domain import emulator

from reconciler.apply.engine import ApplySettings
from reconciler.apply.journal import CreateJournal
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore
from reconciler.people import connect
from reconciler.people.pacing import PacingConfig
from reconciler.people.targets import open_replica
from reconciler.plan.options import PlanOptions

UNPACED = PacingConfig(
    reads_per_minute=1e6,
    writes_per_minute=1e6,
    project_reads_per_minute=None,
    project_writes_per_minute=None,
)


class Ticker:
    """Sleeps 1 ms at a time on the loop and records how late each wake-up is (ms)."""

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags.append(max(0.0, (time.perf_counter() - started - 0.001) * 1000))

    def report(self, phase: str, seconds: float) -> str:
        lags = sorted(self.lags) or [0.0]
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        self.lags = []
        return (
            f"  {phase:28} {seconds:6.1f} s   loop lag p50 {statistics.median(lags):6.1f} ms, "
            f"p99 {p99:6.1f} ms, max {lags[-1]:6.1f} ms"
        )


def manifests(root: Path, account: int, contacts: int) -> Path:
    folder = root / f"a{account}"
    folder.mkdir()
    docs = [contact_doc(i, phone=True, title="Engineer") for i in range(contacts)]
    (folder / "contacts.yaml").write_text("---\n".join(docs))
    return folder


async def main(accounts: int, contacts: int, url: str, root: Path) -> None:
    stores = [DesiredStore([manifests(root, a, contacts)]) for a in range(accounts)]
    for store in stores:
        assert store.reload().ok
    settings = ApplySettings(plan=PlanOptions(owner="bench", prune=True))
    ticker = Ticker()
    tick = asyncio.create_task(ticker.run())
    async with open_replica(url, pacing=UNPACED) as replica, AsyncExitStack() as stack:
        backends = []
        for a in range(accounts):
            client = await stack.enter_async_context(
                connect(url, token=f"user:user{a}@example.com", replica=replica)
            )
            journal = stack.enter_context(CreateJournal(root / f"journal-{a}.jsonl"))
            backends.append(ApplyBackend(client, journal, settings))
        print(f"{accounts} accounts x {contacts} contacts, passes at once")
        ticker.lags = []
        for phase in ("first pass (creates)", "second pass (nothing to do)"):
            started = time.perf_counter()
            results = await asyncio.gather(
                *(b.apply(s.state) for b, s in zip(backends, stores, strict=True) if s.state)
            )
            assert all(r.converged for r in results), [r.errors for r in results]
            print(ticker.report(phase, time.perf_counter() - started))
    tick.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    with emulator(args.latency_ms) as (_, url), tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.accounts, args.contacts, url, Path(tmp)))
