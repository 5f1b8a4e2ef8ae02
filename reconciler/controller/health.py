"""Liveness and readiness, as Kubernetes probes ask for them, and as truthful as we can make them.

Liveness (``/healthz``) answers one question: does the process still work, meaning does its
event loop turn? A heartbeat task stamps the time every second; when the stamp is stale the
loop was starved by blocking code and the kubelet should restart the pod. Nothing else fails
liveness: a restart cures neither broken manifests nor an API outage, it only adds a full pass.

Readiness (``/readyz``) says whether the controller is doing its job for every account, and
when not, why, one line per account and reason, so that ``kubectl describe`` and an alert show
what to fix:

- the account has not finished its first full pass yet;
- its manifests are broken (nothing is written until they are fixed);
- the People API has been failing for it for longer than ``api_grace`` seconds (a blip is not
  worth an alert; an outage is);
- a pass is blocked: deletions over the safety limits were withheld, with the override to use;
- its passes have been waiting for another writer's lease for longer than ``lease_grace``
  seconds (a short ``reconciler apply`` is not worth an alert; a stuck one is).

Accounts appear under their metrics label (an alias or a short hash, never the mailbox).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.clock import Clock, SystemClock

__all__ = ["Health"]


@dataclass
class _Account:
    synced: bool = False
    manifest_errors: int = 0
    # source ("pass", "poll") -> (first failure of its current run of failures, last error);
    # each source clears only its own, so passes that fail while polls work are still seen
    failing: dict[str, tuple[float, str]] = field(default_factory=dict)
    blocked: str = ""
    lease_wait: tuple[float, str] | None = None  # (since, who holds the lease) while waiting


@dataclass
class Health:
    """What /healthz and /readyz report."""

    clock: Clock = field(default_factory=SystemClock)
    stale_after: float = 30.0  # seconds without a heartbeat before the loop counts as stuck
    api_grace: float = 20.0  # seconds of API failures before the account counts as unready
    lease_grace: float = 120.0  # seconds of waiting for another writer's lease, likewise
    _last_beat: float | None = None
    _accounts: dict[str, _Account] = field(default_factory=dict)
    _checks: list[Callable[[], list[str]]] = field(default_factory=list)

    def beat(self) -> None:
        """The loop is turning."""
        self._last_beat = self.clock.now()

    def expect(self, account: str) -> None:
        """``account`` must be ready before the controller is."""
        self._accounts.setdefault(account, _Account())

    def forget(self, account: str) -> None:
        """``account`` is no longer run by this controller: it no longer counts."""
        self._accounts.pop(account, None)

    def add_check(self, check: Callable[[], list[str]]) -> None:
        """Another part of the controller (the Directory refresh) that can make it unready:
        ``check`` returns one line per reason, none when all is well."""
        self._checks.append(check)

    def mark_ready(self, account: str) -> None:
        """The account's first full pass is done."""
        self._accounts.setdefault(account, _Account()).synced = True

    def manifests_loaded(self, account: str, errors: int) -> None:
        """The account's manifests were (re)loaded with ``errors`` problems."""
        self._accounts.setdefault(account, _Account()).manifest_errors = errors

    def api_succeeded(self, account: str, source: str) -> None:
        """A pass or a poll (``source``) of ``account`` worked."""
        self._accounts.setdefault(account, _Account()).failing.pop(source, None)

    def api_failed(self, account: str, source: str, error: str) -> None:
        """A pass or a poll (``source``) of ``account`` failed with ``error``."""
        failing = self._accounts.setdefault(account, _Account()).failing
        since = failing[source][0] if source in failing else self.clock.now()
        failing[source] = (since, error)

    def blocked(self, account: str, why: str) -> None:
        """A full pass left something undone on purpose (``why`` says what and the override);
        an empty ``why`` clears it."""
        self._accounts.setdefault(account, _Account()).blocked = why

    def lease_waiting(self, account: str, why: str) -> None:
        """A pass of ``account`` waits for a lease another writer holds (``why`` names it);
        an empty ``why``: it writes again."""
        state = self._accounts.setdefault(account, _Account())
        if not why:
            state.lease_wait = None
            return
        since = state.lease_wait[0] if state.lease_wait else self.clock.now()
        state.lease_wait = (since, why)

    def reasons(self, account: str) -> list[str]:
        """Why ``account`` is not ready; empty when it is."""
        state = self._accounts.get(account)
        if state is None:
            return []
        found: list[str] = []
        if state.manifest_errors:
            found.append(
                f"manifests are broken ({state.manifest_errors} errors); nothing is written "
                "until they are fixed"
            )
        for source, (since, error) in sorted(state.failing.items()):
            failing = self.clock.now() - since
            if failing >= self.api_grace:
                found.append(f"{source}es have been failing for {failing:.0f}s: {error}")
        if state.blocked:
            found.append(state.blocked)
        if state.lease_wait is not None:
            since, why = state.lease_wait
            if self.clock.now() - since >= self.lease_grace:
                found.append(f"{why} (for {self.clock.now() - since:.0f}s)")
        if not state.synced and not found:
            found.append("waiting for the first full pass")
        return found

    def account_ready(self, account: str) -> bool:
        return not self.reasons(account)

    def liveness(self) -> tuple[bool, str]:
        """(alive, why): only a stalled event loop fails it."""
        now = self.clock.now()
        if self._last_beat is None:
            return True, "starting"
        if now - self._last_beat > self.stale_after:
            return False, f"event loop stalled for {now - self._last_beat:.0f}s"
        return True, "ok"

    def readiness(self) -> tuple[bool, str]:
        """(ready, why): ``why`` lists every unready account with its reasons."""
        lines = [
            f"{account}: {reason}"
            for account in sorted(self._accounts)
            for reason in self.reasons(account)
        ]
        lines += [line for check in self._checks for line in check()]
        return (False, "\n".join(lines)) if lines else (True, "ok")
