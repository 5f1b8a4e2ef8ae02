"""Request statistics, by People API method id and by HTTP status.

Benchmarks and tests read these through ``GET /__emulator/stats`` to count what a client
really sent (inner calls of an HTTP batch are counted one by one, as Google bills them).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from reconciler.collector import PAUSES


class Stats:
    """Counters of API requests answered."""

    def __init__(self) -> None:
        self.by_method: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_method_status: dict[str, Counter[str]] = {}
        self.refused_by_limit: Counter[str] = Counter()

    def record(self, method_id: str, status: int) -> None:
        """Count one request of ``method_id`` answered with ``status``."""
        self.by_method[method_id] += 1
        self.by_status[str(status)] += 1
        self.by_method_status.setdefault(method_id, Counter())[str(status)] += 1

    def refused(self, limit: str) -> None:
        """Count one call refused with a 429 by the quota limit ``limit`` (the limit id its
        ErrorInfo names, ``CriticalWritesPerMinutePerProject``): which quota a 429 came from."""
        self.refused_by_limit[limit] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as JSON."""
        return {
            "total": sum(self.by_method.values()),
            "by_method": dict(self.by_method),
            "by_status": dict(self.by_status),
            "by_method_status": {m: dict(c) for m, c in self.by_method_status.items()},
            "refused_by_limit": dict(self.refused_by_limit),
            # the process's garbage-collection pauses (counted while it serves tuned; zero in
            # a process that does not): a paused emulator counts calls late
            "gc_pauses": PAUSES.snapshot(),
        }

    def clear(self) -> None:
        """Forget everything counted so far."""
        self.by_method.clear()
        self.by_status.clear()
        self.by_method_status.clear()
        self.refused_by_limit.clear()
