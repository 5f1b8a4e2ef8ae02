"""A manifest may declare a name in either form; the server fills in the other, and the
planner must not take that for drift (it would update the contact on every pass).

Source: the discovery document's Name schema has both ``unstructuredName`` ("The free form name
value") and the structured parts; Google parses one from the other (docs/people-api.md,
"Names"), and the emulator does the same (``reconciler.emulator.contacts.parsed_name``).
"""

from __future__ import annotations

import pytest

from reconciler.apply.results import Outcome
from reconciler.model import DesiredState
from reconciler.model.normalize import Normalizer
from tests.support.manifests import Contact, Spec
from tests.support.world import World


def _desired(names: list[dict[str, str]]) -> DesiredState:
    contact = Contact(name="jane", spec=Spec({"names": names}))
    return DesiredState(contacts=[contact], groups=[])


@pytest.mark.parametrize(
    "names",
    [
        [{"unstructuredName": "Jane Q Doe"}],
        [{"givenName": "Jane", "familyName": "Doe"}],
        [{"unstructuredName": "Jane Doe", "givenName": "Jane", "familyName": "Doe"}],
    ],
    ids=["unstructured-only", "structured-only", "both"],
)
async def test_either_name_form_converges_without_a_loop(
    world: World, names: list[dict[str, str]]
) -> None:
    """The server answers with both forms; a second apply finds nothing to change."""
    first = await world.apply(_desired(names))
    assert first.converged, first.to_json()
    (person,) = await world.people()
    name = person["names"][0]
    assert name["givenName"] == "Jane"
    assert name["familyName"] == "Doe"
    assert name["unstructuredName"]
    again = await world.apply(_desired(names))
    assert again.converged
    assert again.counts()[Outcome.UNCHANGED] == 1
    assert again.counts().get(Outcome.UPDATED, 0) == 0


def test_a_changed_unstructured_name_is_still_drift() -> None:
    """Ignoring the parsed parts never hides a real change of the declared form."""
    live = [{"unstructuredName": "Jane Doe", "givenName": "Jane", "familyName": "Doe"}]
    normalizer = Normalizer()
    assert normalizer.equal("names", [{"unstructuredName": "Jane Doe"}], live)
    assert not normalizer.equal("names", [{"unstructuredName": "Jane Smith"}], live)
    assert not normalizer.equal("names", [{"givenName": "Jane", "familyName": "Smith"}], live)
