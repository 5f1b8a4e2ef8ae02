"""How long the event loop stalls while accounts converge: the lag of a 1 ms ticker.

A controller serves every account, its probes and its metrics from one event loop; any
stretch of CPU work on it delays all of them (``/healthz`` answers late). This script runs what
the controller runs for K accounts of M contacts each, at once, through one replica's shared
pool (``open_replica``), against the emulator in its own process (50 ms per request), and
beside them a task that sleeps 1 ms at a time and records how late it wakes:

- a first pass from empty (listing, plan, group and contact creates, journal);
- a second pass with nothing to do (a full listing and a plan of M contacts);

and prints the wall time of each phase and two figures per ticker wake-up: its lag (wall
time, p99 and max: what ``/healthz`` would add to its answer at that moment, including waits
for the CPU on a loaded machine and for the GIL) and the CPU time the loop's thread spent
between two wake-ups (p99 and max: the longest stretch of work that ran on the loop, a figure
that other load on the machine barely moves). ``bench/domain.py`` measures ``/healthz`` under
a whole domain; this isolates the passes from start-up, watching and leases.

    python bench/loop_lag.py [--accounts 4] [--contacts 1000] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
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
from reconciler.controller.gil import loop_first
from reconciler.people import connect
from reconciler.people.pacing import PacingConfig
from reconciler.people.targets import open_replica
from reconciler.plan.options import PlanOptions

UNPACED = PacingConfig.uniform(1e6)


class Ticker:
    """Sleeps 1 ms at a time on the loop; records how late each wake-up is and how much CPU
    the loop's thread used since the last one (ms)."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.cpu: list[float] = []

    async def run(self) -> None:
        while True:
            started, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.001)
            self.lags.append(max(0.0, (time.perf_counter() - started - 0.001) * 1000))
            self.cpu.append((time.thread_time() - cpu) * 1000)

    def report(self, phase: str, seconds: float) -> str:
        lags, cpu = sorted(self.lags) or [0.0], sorted(self.cpu) or [0.0]
        self.lags, self.cpu = [], []
        return (
            f"  {phase:28} {seconds:5.1f} s  lag p99 {_p99(lags):6.1f} ms, max {lags[-1]:6.1f} ms;"
            f" loop CPU between wake-ups p99 {_p99(cpu):5.1f} ms, max {cpu[-1]:5.1f} ms"
        )


def _p99(values: list[float]) -> float:
    return values[min(len(values) - 1, int(len(values) * 0.99))]


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
        ticker.report("start-up", 0.0)
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
    # loop_first: the controller's switch interval and collector settings
    with emulator(args.latency_ms) as (_, url), tempfile.TemporaryDirectory() as tmp, loop_first():
        asyncio.run(main(args.accounts, args.contacts, url, Path(tmp)))
