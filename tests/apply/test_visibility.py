"""An apply waits, bounded, until a listing shows its creates, so later runs anywhere see them."""

from __future__ import annotations

from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.live import read_live
from reconciler.apply.results import ApplyResult
from reconciler.apply.visibility import require_listed, wait_until_listed
from tests.support.manifests import book
from tests.support.world import World


async def _apply_and_wait(world: World, within: float) -> tuple[ApplyResult, int, int]:
    """Converge ``book(5)``, then wait for the listing; returns the result, the listings the
    wait made and the journal entries left."""
    result = await world.apply(book(5))
    assert result.converged, result.to_json()
    with world.journal() as journal:
        seen = await require_listed(
            ClientGateway(world.client), journal, result, within=within,
            clock=world.clock,
        )  # fmt: skip
        return result, seen.listings, len(journal.entries)


async def test_the_wait_ends_when_a_listing_shows_the_creates(world: World) -> None:
    """Under a 20 s listing lag the wait lists until the creates show, then empties the
    journal: a run that cannot see this journal still finds every contact by its stamp."""
    world.configure(list_lag_ms=20_000)
    result, listings, left = await _apply_and_wait(world, within=120)
    assert not result.errors
    assert listings >= 2  # the first look came before the lag had passed
    assert left == 0
    with CreateJournal(world.journal_path.with_name("elsewhere.jsonl")) as empty:
        read = await read_live(
            ClientGateway(world.client), empty, owner="reconciler", settle=0, now=world.clock.now
        )
    assert len(read.state.people) == 5


async def test_a_listing_that_lags_past_the_bound_is_an_error(world: World) -> None:
    """Still unlisted after ``within`` seconds: the result carries an error naming the count
    and the flag, the wait took no longer than the bound, and the journal keeps the creates."""
    world.configure(list_lag_ms=600_000)
    before = world.clock.now()
    result, _listings, left = await _apply_and_wait(world, within=30)
    assert world.clock.now() - before <= 30 + 1  # the apply's own waits plus ours
    assert len(result.errors) == 1
    assert "5 created contact(s)" in result.errors[0]
    assert "--visibility-timeout" in result.errors[0]
    assert left == 5


async def test_nothing_created_costs_no_listing(world: World) -> None:
    """An apply that created nothing does not list again."""
    await world.apply(book(3))
    with world.journal() as journal:
        await journal.forget(list(journal.entries))
        requests = world.client.stats.requests.copy()
        seen = await wait_until_listed(
            ClientGateway(world.client), journal, within=60,
            clock=world.clock,
        )  # fmt: skip
    assert seen.visible
    assert seen.listings == 0
    assert world.client.stats.requests == requests
