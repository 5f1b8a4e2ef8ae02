"""A contact whose listing is cut at 100 values per field still converges.

``people.connections.list`` returns at most 100 email addresses and 100 phone numbers per
person; Google documents that the entire set comes from ``people.get``/``getBatchGet``. A
contact listed with exactly that many values is therefore read again in full before the plan
compares it, so a manifest with more never looks different from what was written.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.apply.results import Outcome
from reconciler.model import DesiredState
from reconciler.model.limits import MAX_LISTED_VALUES
from tests.support.manifests import Contact, Spec
from tests.support.world import World


def wide(emails: int, phones: int = 1) -> DesiredState:
    """One contact with ``emails`` email addresses and ``phones`` phone numbers."""
    return DesiredState(
        contacts=[
            Contact(
                name="wide",
                spec=Spec(
                    {
                        "names": [{"givenName": "Wide"}],
                        "emailAddresses": [
                            {"value": f"a{n}@example.com", "type": "work"} for n in range(emails)
                        ],
                        "phoneNumbers": [
                            {"value": f"+1 650 555 {n:04d}", "type": "mobile"}
                            for n in range(phones)
                        ],
                    }
                ),
            )
        ]
    )


async def calls(world: World, method: str) -> int:
    stats: dict[str, Any] = await world.admin("GET", "stats")
    return int(stats["by_method"].get(method, 0))


@pytest.mark.parametrize(
    ("emails", "phones"),
    [(150, 1), (1, 120), (MAX_LISTED_VALUES, MAX_LISTED_VALUES), (MAX_LISTED_VALUES + 1, 1)],
)
async def test_a_contact_with_more_values_than_a_listing_shows_converges(
    world: World, emails: int, phones: int
) -> None:
    """After the first apply, a second one writes nothing: the contact read in full equals
    the manifest, whether a listing cut its emails, its phones, or showed exactly 100."""
    desired = wide(emails, phones)
    first = await world.apply(desired)
    assert first.converged
    assert first.counts()[Outcome.CREATED] == 1
    (person,) = await world.people()
    assert len(person["emailAddresses"]) == emails
    assert len(person["phoneNumbers"]) == phones
    updates = await calls(world, "people.people.batchUpdateContacts")
    second = await world.apply(desired)
    assert second.converged
    assert second.counts()[Outcome.UPDATED] == 0, second.to_json()
    assert await calls(world, "people.people.batchUpdateContacts") == updates
    assert await calls(world, "people.people.getBatchGet") >= 1


async def test_a_contact_below_the_cut_is_not_read_again(world: World) -> None:
    """A listing that shows fewer values than the cut is whole: no extra read is made."""
    desired = wide(MAX_LISTED_VALUES - 1, 3)
    assert (await world.apply(desired)).converged
    second = await world.apply(desired)
    assert second.counts()[Outcome.UPDATED] == 0
    assert await calls(world, "people.people.getBatchGet") == 0
