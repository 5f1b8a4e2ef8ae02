"""Retries: bounded, jittered, honouring Retry-After, under a deadline, only when they can help."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.clock import ManualClock
from reconciler.people.errors import (
    InvalidArgument,
    PeopleError,
    RateLimited,
    ServerError,
    StaleEtag,
    TransportError,
    UnknownOutcome,
)
from reconciler.people.retry import Retrier, RetryPolicy


@settings(max_examples=50, deadline=None)
@given(retry=st.integers(0, 20), seed=st.integers(0, 2**32))
def test_full_jitter_stays_between_zero_and_the_capped_exponential(retry: int, seed: int) -> None:
    """Each wait is uniform in [0, min(max_delay, base * 2**retry)]."""
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    wait = policy.delay(retry, ServerError("x"), random.Random(seed))
    assert 0.0 <= wait <= min(8.0, 0.5 * 2**retry)


def test_retry_after_is_a_floor_for_the_wait() -> None:
    """A 429 with Retry-After never waits less than the server asked."""
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0)
    assert policy.delay(0, RateLimited("q", retry_after=30.0), random.Random(1)) == 30.0


class Flaky:
    """Fails with the given errors in turn, then returns "done"."""

    def __init__(self, *errors: PeopleError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


async def test_retryable_errors_are_retried_until_success() -> None:
    """5xx and 429 are tried again; the answer comes back once the call succeeds."""
    clock = ManualClock()
    call = Flaky(ServerError("boom"), RateLimited("slow", retry_after=5.0))
    assert await Retrier(RetryPolicy(), clock).run(call, method="m") == "done"
    assert call.calls == 3
    assert clock.sleeps[1] >= 5.0


async def test_retries_stop_at_the_bound() -> None:
    """After max_attempts tries the last error reaches the caller."""
    clock = ManualClock()
    call = Flaky(*[ServerError(f"boom {i}") for i in range(10)])
    with pytest.raises(ServerError, match="boom 3"):
        await Retrier(RetryPolicy(max_attempts=4), clock).run(call, method="m")
    assert call.calls == 4
    assert len(clock.sleeps) == 3


async def test_retries_stop_at_the_deadline() -> None:
    """A wait that would cross the overall deadline is not taken."""
    clock = ManualClock()
    call = Flaky(*[RateLimited("slow", retry_after=40.0) for _ in range(10)])
    with pytest.raises(RateLimited):
        await Retrier(RetryPolicy(max_attempts=10, deadline=100.0), clock).run(call, method="m")
    assert call.calls == 3
    assert sum(clock.sleeps) <= 100.0


@pytest.mark.parametrize(
    "error", [StaleEtag("stale"), InvalidArgument("bad"), UnknownOutcome("lost")]
)
async def test_terminal_errors_are_not_retried(error: PeopleError) -> None:
    """Stale etags, invalid arguments and unknown outcomes go straight back."""
    clock = ManualClock()
    call = Flaky(error)
    with pytest.raises(type(error)):
        await Retrier(RetryPolicy(), clock).run(call, method="m")
    assert call.calls == 1
    assert clock.sleeps == []


def test_nonsense_policies_are_refused() -> None:
    """Bounds are checked when the policy is built."""
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


async def test_the_same_seed_gives_the_same_waits() -> None:
    """Two retriers seeded alike wait alike (so chaos runs repeat); another seed differs."""

    async def waits(seed: int) -> list[float]:
        clock = ManualClock()
        call = Flaky(*[ServerError("x") for _ in range(5)])
        policy = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=4.0)
        await Retrier(policy, clock, random.Random(seed)).run(call, method="m")
        return clock.sleeps

    first, second, other = await waits(3), await waits(3), await waits(4)
    assert first == second
    assert first != other
    assert all(0.0 <= w <= cap for w, cap in zip(first, [0.5, 1, 2, 4, 4], strict=True))


async def test_a_create_is_tried_again_only_when_nothing_can_have_been_made() -> None:
    """A 429 or a connection that never carried the request is retried for a create; a 5xx,
    which does not say whether the contact was made, goes straight back."""
    clock = ManualClock()
    refused = Flaky(RateLimited("slow"), TransportError("refused"))
    assert await Retrier(RetryPolicy(), clock).run(refused, method="m", create=True) == "done"
    assert refused.calls == 3
    failing = Flaky(ServerError("boom"))
    with pytest.raises(ServerError):
        await Retrier(RetryPolicy(), clock).run(failing, method="m", create=True)
    assert failing.calls == 1
