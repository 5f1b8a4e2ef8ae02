"""What one step of the replica's poll schedule costs, by the number of accounts.

The schedule (``reconciler/controller/pollschedule.py``) sends one poll every
``interval / accounts`` seconds: every 0.2 s at 1,000 accounts, whatever the budget. Each step
must therefore cost little beside the poll itself. This script lines up N accounts listed at
spread-out times on a manual clock (so no real time passes), lets the schedule send P polls
(each account's poll is instant and starts its interval again), and prints per poll sent: the
questions asked of the accounts (``listed_ago`` calls) and the CPU time of the schedule's
loop. A walk over every account asks N questions a poll; lined up in heaps it asks one (after
the poll, of the account polled).

    python bench/poll_schedule.py [--accounts 100 1000 10000] [--polls 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from reconciler.clock import ManualClock
from reconciler.controller.pollschedule import PollSchedule

INTERVAL = 30.0


class Sent:
    """Polls sent so far; ``done`` once ``wanted`` went out."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self.count = 0
        self.done = asyncio.Event()


class Account:
    """Listed ``age`` seconds ago; counts the schedule's questions and its own polls."""

    def __init__(self, label: str, clock: ManualClock, age: float, sent: Sent) -> None:
        self.label = label
        self.clock = clock
        self.at = clock.now() - age
        self.asked = 0
        self.sent = sent

    def listed_ago(self) -> float | None:
        self.asked += 1
        return self.clock.now() - self.at

    async def poll(self) -> None:
        self.at = self.clock.now()
        self.sent.count += 1
        if self.sent.count >= self.sent.wanted:
            self.sent.done.set()


async def measure(accounts: int, polls: int) -> tuple[float, float]:
    """(questions a poll, CPU microseconds a poll) for ``polls`` polls of ``accounts``."""
    clock = ManualClock()
    sent = Sent(polls)
    lined = [Account(f"a{i}", clock, i % 600, sent) for i in range(accounts)]
    schedule = PollSchedule(INTERVAL, max_wait=600.0, reads_per_minute=3000.0, clock=clock)
    for account in lined:
        schedule.add(account)
    asked = sum(a.asked for a in lined)
    began = time.process_time()
    running = asyncio.create_task(schedule.run())
    await sent.done.wait()
    cpu = time.process_time() - began
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    return (sum(a.asked for a in lined) - asked) / sent.count, cpu / sent.count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--polls", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'accounts':>8}  {'questions / poll':>16}  {'CPU us / poll':>13}")
    for n in args.accounts:
        questions, micros = asyncio.run(measure(n, args.polls))
        print(f"{n:>8}  {questions:>16.2f}  {micros:>13.1f}")


if __name__ == "__main__":
    main()
