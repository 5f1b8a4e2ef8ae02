"""A rename with pruning on keeps the live contact and everything a person added to it."""

from __future__ import annotations

from reconciler.apply.results import Outcome
from tests.support.manifests import Contact, Spec, desired
from tests.support.world import World

FIELDS = {"names": [{"givenName": "Jane"}], "emailAddresses": [{"value": "jane@example.com"}]}


def jane(name: str, **annotations: str) -> Contact:
    return Contact(name, Spec(dict(FIELDS)), dict(annotations))


async def test_a_renamed_manifest_keeps_the_contact_and_what_a_person_added(world: World) -> None:
    """Apply jane-old; a person adds a phone number and a biography; the manifest is renamed to
    jane with ``reconciler/previous-names: jane-old`` and applied with --prune: the same live
    contact (same resource name) now carries jane's stamp and still has both added fields, and
    a further apply changes nothing."""
    assert (await world.apply(desired(jane("jane-old")))).converged
    (before,) = await world.people()
    await world.edit(
        before["resourceName"],
        {
            "etag": before["etag"],
            "phoneNumbers": [{"value": "+1 650 555 0100"}],
            "biographies": [{"value": "Met at the conference"}],
        },
        "phoneNumbers,biographies",
    )
    renamed = desired(jane("jane", **{"reconciler/previous-names": "jane-old"}))
    result = await world.apply(renamed, prune=True)
    assert result.converged, result.to_json()
    assert result.counts()[Outcome.CREATED] == 0
    assert result.counts()[Outcome.DELETED] == 0
    (after,) = await world.people()
    assert after["resourceName"] == before["resourceName"]
    assert after["phoneNumbers"][0]["value"] == "+1 650 555 0100"
    assert after["biographies"][0]["value"] == "Met at the conference"
    stamp = {e["key"]: e["value"] for e in after["clientData"]}
    assert stamp["reconciler.name"] == "jane"
    again = await world.apply(renamed, prune=True)
    assert again.counts()[Outcome.UPDATED] == 0
    assert again.counts()[Outcome.UNCHANGED] == 1
