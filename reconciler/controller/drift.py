"""Damping self-heal against another writer, so two writers never loop hot.

If an app on someone's phone keeps rewriting a contact we manage, correcting it at every poll
would make the two of us trade writes forever at the poll rate, burning both quotas. Each time a
contact has to be written back soon after the previous correction, the next correction waits
twice as long (up to the backoff cap); a contact that stays quiet for twice the cap starts again
from no delay.
"""

from __future__ import annotations

import math

from reconciler.clock import Clock

__all__ = ["DriftDamper"]


class DriftDamper:
    """Growing delays for contacts that keep drifting (another writer fighting us)."""

    def __init__(self, clock: Clock, *, base: float = 1.0, cap: float = 300.0) -> None:
        self.clock, self.base, self.cap = clock, base, cap
        self.window = 2 * cap  # a contact quiet this long starts again from no delay
        self._streaks: dict[str, tuple[int, float]] = {}

    def corrected(self, key: str) -> None:
        """``key`` drifted and was written back."""
        count, last = self._streaks.get(key, (0, -math.inf))
        now = self.clock.now()
        self._streaks[key] = (count + 1 if now - last < self.window else 1, now)

    def delay(self, key: str) -> float:
        """How long to wait before correcting ``key`` again."""
        count, last = self._streaks.get(key, (0, -math.inf))
        if count == 0 or self.clock.now() - last >= self.window:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(count - 1, 60))
