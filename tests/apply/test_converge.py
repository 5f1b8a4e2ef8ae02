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
    assert again.counts()[Outcome.UNCHANGED] == 33  # contacts and groups, as a plan counts them


async def test_adoption_by_email_stamps_the_existing_contact_instead_of_creating(
    world: World,
) -> None:
    """With adoption on, an unstamped contact matching by email is updated and stamped, its
    other fields kept; nothing is created."""
    existing = await world.client.batch_create(
        [
            {
                "names": [{"givenName": "Old"}],
                "emailAddresses": [{"value": "PERSON0@example.com"}],
                "biographies": [{"value": "typed on a phone"}],
            }
        ],
        "metadata",
    )
    result = await world.apply(book(1), adopt_by_email=True)
    assert result.converged, result.to_json()
    assert result.counts()[Outcome.ADOPTED] == 1
    people = await world.people()
    assert len(people) == 1
    assert people[0]["resourceName"] == existing[0].resource_name
    assert read_stamp(people[0]["clientData"]).name == "person-00000"  # type: ignore[union-attr]
    assert people[0]["biographies"][0]["value"] == "typed on a phone"
    assert people[0]["names"][0]["givenName"] == "Given0"


async def test_unowned_contacts_are_never_touched(world: World) -> None:
    """Contacts without our stamp (or with another owner's) survive an apply with pruning."""
    await world.client.batch_create(
        [
            {"names": [{"givenName": "Stranger"}]},
            {
                "names": [{"givenName": "Theirs"}],
                "clientData": [
                    {"key": "reconciler.owner", "value": "someone-else"},
                    {"key": "reconciler.name", "value": "person-00000"},
                ],
            },
        ],
        "metadata",
    )
    before = {p["resourceName"]: p["etag"] for p in await world.people()}
    result = await world.apply(book(3), prune=True)
    assert result.converged, result.to_json()
    after = {p["resourceName"]: p["etag"] for p in await world.people()}
    assert all(after[rn] == etag for rn, etag in before.items())
    assert len(after) == 5
