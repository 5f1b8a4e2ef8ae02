"""Waits between conflict re-sends are full jitter drawn from the ``random.Random`` passed down.

(The transport's own retry waits are tested with the retrier, in ``tests/people/test_retry.py``.)"""

from __future__ import annotations

import random

from tests.support.manifests import book
from tests.support.world import World


async def test_converge_draws_its_jitter_from_the_rng_it_is_given(world: World) -> None:
    """An update rejected for a (spurious) stale etag is retried after a wait drawn from the
    rng passed in."""

    class Counting(random.Random):
        draws = 0

        def uniform(self, a: float, b: float) -> float:
            Counting.draws += 1
            return super().uniform(a, b)

    await world.apply(book(10))
    # Within a minute of the first apply's writes, whatever the pacing waited in between.
    world.configure(spurious_etag_rate=0.5, spurious_etag_window_ms=60_000)
    result = await world.apply(book(10, title="Lead"), rng=Counting(5))
    world.configure(spurious_etag_rate=0)
    assert result.converged, [r.to_json() for r in result.left]
    assert Counting.draws > 0
