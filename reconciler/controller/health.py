"""Liveness and readiness, as Kubernetes probes ask for them.

Liveness is "the event loop turns and no pass is stuck": a heartbeat task stamps the time every
second, so a loop starved by blocking code or a pass hung on a dead connection shows up as stale,
and the kubelet restarts the pod (a restart is just a full pass). Readiness is "every account's
manifests loaded and its first full pass done": until then the controller has not yet looked at
the address book, and a rollout should not treat it as serving.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.clock import Clock, SystemClock

__all__ = ["Health"]


@dataclass
class Health:
    """What /healthz and /readyz report."""

    clock: Clock = field(default_factory=SystemClock)
    stale_after: float = 30.0  # seconds without a heartbeat before the loop counts as stuck
    stuck_after: float = 900.0  # seconds one pass may run before it counts as hung
    _last_beat: float | None = None
    _passes: dict[str, float] = field(default_factory=dict)  # account -> pass start
    _expected: set[str] = field(default_factory=set)
    _ready: set[str] = field(default_factory=set)

    def beat(self) -> None:
        """The loop is turning."""
        self._last_beat = self.clock.now()

    def expect(self, account: str) -> None:
        """``account`` must be ready before the controller is."""
        self._expected.add(account)

    def mark_ready(self, account: str) -> None:
        self._ready.add(account)

    def pass_started(self, account: str) -> None:
        self._passes[account] = self.clock.now()

    def pass_finished(self, account: str) -> None:
        self._passes.pop(account, None)

    def liveness(self) -> tuple[bool, str]:
        """(alive, why)."""
        now = self.clock.now()
        if self._last_beat is None:
            return True, "starting"
        if now - self._last_beat > self.stale_after:
            return False, f"event loop stalled for {now - self._last_beat:.0f}s"
        for account, started in sorted(self._passes.items()):
            if now - started > self.stuck_after:
                return False, f"pass for {account} running for {now - started:.0f}s"
        return True, "ok"

    def readiness(self) -> tuple[bool, str]:
        """(ready, why)."""
        waiting = sorted(self._expected - self._ready)
        if waiting:
            return False, "waiting for the first sync of " + ", ".join(waiting)
        return True, "ok"
