"""An apply converges the live address book to the manifests, and only touches what it owns."""

from __future__ import annotations

from collections import Counter

from reconciler.apply.results import Outcome
from reconciler.model import read_stamp
from tests.apply.conftest import World
from tests.apply.factories import book


async def test_empty_book_gets_every_contact_and_group_once(world: World) -> None:
    """From empty, every manifest is created once, with its groups, and a re-apply is a no-op."""
    desired = book(30, groups=3)
    result = await world.apply(desired)
    assert result.converged, result.to_json()
    assert result.counts()[Outcome.CREATED] == 33
    people = await world.people()
    names = Counter(read_stamp(p.get("clientData")).name for p in people)  # type: ignore[union-attr]
    assert len(names) == 30
    assert set(names.values()) == {1}
    again = await world.apply(desired)
    assert again.converged
    assert again.counts()[Outcome.UNCHANGED] == 30
