"""What the benchmarks measure of processes and of the machine, and how they summarise it.

A process's CPU seconds and resident memory come from its ``/proc`` entry (Linux), so a bench
can watch a subprocess (a controller, an emulator) without instrumenting it. The load average is
printed beside timings because the machines the figures come from are often shared: a p99 taken
at load 10 on two cores is not the same figure as one taken on an idle machine. Percentiles are
nearest-rank, so every reported value is one that was measured. Samples taken while a run goes
on are taken by :class:`Repeat` on a thread of their own, so the run's own loop never delays
them.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def stop_process(process: subprocess.Popen[Any], grace: float = 120) -> None:
    """SIGTERM ``process`` (a controller drains its passes and gives its leases back), then
    SIGKILL it if it has not exited within ``grace`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a running process in MiB, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages and its CPU count, as printed."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.99 is p99): the smallest measured value with at
    least ``share`` of the values at or below it; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float], unit: str = "", digits: int = 1) -> str:
    """``p50 x, p99 y, max z`` of ``values``, or ``none`` when there are none."""
    if not values:
        return "none"
    p50, p99, top = percentile(values, 0.5), percentile(values, 0.99), max(values)
    return f"p50 {p50:.{digits}f}{unit}, p99 {p99:.{digits}f}{unit}, max {top:.{digits}f}{unit}"


class Repeat:
    """Calls ``tick`` on a daemon thread every ``every`` seconds (less the time it took) from
    :meth:`start` until :meth:`stop`."""

    def __init__(self, tick: Callable[[], None], every: float, name: str) -> None:
        self.tick, self.every = tick, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.tick()
            self._stop.wait(max(0.0, self.every - (time.monotonic() - began)))
