"""When to try a failed call again, and when to stop.

Bounded exponential backoff with full jitter (a uniformly random wait between zero and the
exponential cap, so that many clients hitting the same 429 do not come back in lock-step),
``Retry-After`` honoured when the server gives it, and an overall deadline per call. Only errors
whose class says ``retryable`` are retried: a stale etag, an invalid argument or an auth failure
comes straight back to the caller, and an unknown outcome is never retried here.

This is the only place a failed request is tried again. Above it, the apply engine turns what is
still failing into an outcome with a next-attempt time, and the controller's work queue (or a
one-shot apply's bounded rounds) decides when that is; nothing in between loops.

Creates are not idempotent: a create is only tried again when the failure proves nothing was
done (a 429 refusal, or a connection that never carried the request). A 5xx answer to a create
does not say whether the contacts were made, so it goes back to the caller, which asks the
listing (see ``reconciler.apply.creates``).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog

from reconciler.clock import Clock, SystemClock
from reconciler.people.errors import PeopleError, RateLimited, TransportError

__all__ = ["Retrier", "RetryPolicy", "retryable"]

T = TypeVar("T")
log = structlog.get_logger("reconciler.people")


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first try; ``deadline`` bounds the total time of one call."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 32.0
    deadline: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1: {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError(
                f"need 0 <= base_delay <= max_delay: {self.base_delay}, {self.max_delay}"
            )

    def cap(self, retry: int) -> float:
        """The upper bound of the wait before retry number ``retry`` (0-based)."""
        return float(min(self.max_delay, self.base_delay * (2**retry)))

    def delay(self, retry: int, error: PeopleError, rng: random.Random) -> float:
        """Full jitter below the cap, but never less than the server's Retry-After."""
        jittered = rng.uniform(0.0, self.cap(retry))
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return max(error.retry_after, jittered)
        return jittered


def retryable(error: PeopleError, *, create: bool = False) -> bool:
    """Whether sending the same request again can help, and (for a create) cannot duplicate."""
    if create:
        return isinstance(error, RateLimited | TransportError)
    return error.retryable


@dataclass
class Retrier:
    """Runs a call under a :class:`RetryPolicy`, sleeping on the injected clock."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.Random)
    on_retry: Callable[[PeopleError, float], None] | None = None
    log: Any = log
    """Where retries are logged: the transport binds its account to it."""

    async def run(
        self, call: Callable[[], Awaitable[T]], *, method: str, create: bool = False
    ) -> T:
        """Call until it succeeds, fails terminally, runs out of attempts or of time.

        ``create``: the call makes something; only a failure that proves nothing was made is
        tried again.
        """
        started = self.clock.now()
        retry = 0
        while True:
            try:
                return await call()
            except PeopleError as error:
                if not retryable(error, create=create) or retry + 1 >= self.policy.max_attempts:
                    raise
                wait = self.policy.delay(retry, error, self.rng)
                if self.clock.now() + wait - started > self.policy.deadline:
                    raise
                self.log.info(
                    "people.retry",
                    method=method,
                    error=type(error).__name__,
                    status=error.status,
                    attempt=retry + 1,
                    wait=round(wait, 3),
                    **error.log_fields(),
                )
                if self.on_retry is not None:
                    self.on_retry(error, wait)
                await self.clock.sleep(wait)
                retry += 1
