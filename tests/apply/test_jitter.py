"""Retry waits are full jitter drawn from the ``random.Random`` passed down: seeded, they repeat."""

from __future__ import annotations

import random
from pathlib import Path

from reconciler.apply.executor import Executor, ExecutorSettings
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.results import ApplyResult
from reconciler.people.errors import PeopleError, RateLimited, ServerError
from tests.support.manifests import book
from tests.support.world import World


async def waits_of(world: World, path: Path, rng: random.Random, error: PeopleError) -> list[float]:
    """The waits of one whole-batch call that fails five times with ``error``, then succeeds."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    failures = iter([error] * 5)

    async def flaky() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "done"

    with CreateJournal(path) as journal:
        executor = Executor(
            gateway=ClientGateway(world.client),
            journal=journal,
            result=ApplyResult(),
            owner="reconciler",
            replan=None,
            settings=ExecutorSettings(max_attempts=6, base_delay=0.5, max_delay=4.0),
            sleep=sleep,
            rng=rng,
        )
        assert await executor.call(flaky, what="test") == "done"
    return waits


async def test_the_same_seed_gives_the_same_waits(world: World, tmp_path: Path) -> None:
    """Two executors seeded alike wait alike; each wait lies between zero and its cap."""
    first = await waits_of(world, tmp_path / "a.jsonl", random.Random(3), ServerError("x"))
    second = await waits_of(world, tmp_path / "b.jsonl", random.Random(3), ServerError("x"))
    other = await waits_of(world, tmp_path / "c.jsonl", random.Random(4), ServerError("x"))
    assert first == second
    assert first != other
    caps = [0.5, 1.0, 2.0, 4.0, 4.0]
    assert all(0.0 <= wait <= cap for wait, cap in zip(first, caps, strict=True))


async def test_a_retry_after_is_a_floor_under_the_jitter(world: World, tmp_path: Path) -> None:
    """A 429 with Retry-After is never retried sooner than the server asked."""
    error = RateLimited("quota", retry_after=30.0)
    waits = await waits_of(world, tmp_path / "j.jsonl", random.Random(1), error)
    assert waits == [30.0] * 5


async def test_converge_draws_its_jitter_from_the_rng_it_is_given(world: World) -> None:
    """An update rejected for a (spurious) stale etag is retried after a wait drawn from the
    rng passed in."""

    class Counting(random.Random):
        draws = 0

        def uniform(self, a: float, b: float) -> float:
            Counting.draws += 1
            return super().uniform(a, b)

    await world.apply(book(10))
    world.configure(spurious_etag_rate=0.5)
    result = await world.apply(book(10, title="Lead"), rng=Counting(5))
    world.configure(spurious_etag_rate=0)
    assert result.converged, [r.to_json() for r in result.left]
    assert Counting.draws > 0
