"""Plans for tests of what reads a plan: renderers and saved plans."""

from __future__ import annotations

from dataclasses import replace

from reconciler.plan import Plan, PlanOptions, build_plan
from tests.support.manifests import contact, desired, group
from tests.support.persons import live, person, stamp


def sample_plan() -> Plan:
    """One of everything: a group create, a create, an update, an adoption, a delete, a kept."""
    ours = [
        {"key": "reconciler.owner", "value": "reconciler"},
        {"key": "reconciler.name", "value": "friends"},
    ]
    groups = (
        {
            "resourceName": "contactGroups/f1",
            "etag": "g1",
            "name": "Friends",
            "groupType": "USER_CONTACT_GROUP",
            "clientData": ours,
        },
    )
    people = [
        person(
            "people/c1",
            etag="e1",
            names=[{"givenName": "Bob"}],
            phoneNumbers=[{"value": "(650) 555-0100"}],
            urls=[{"value": "https://bob.example"}],
            clientData=stamp("reconciler", "bob", "names,phoneNumbers,urls"),
        ),
        person(
            "people/c2",
            etag="e2",
            emailAddresses=[{"value": "Carol@Example.com"}],
            nicknames=[{"value": "Caz"}],
        ),
        person(
            "people/c3",
            etag="e3",
            names=[{"givenName": "Old"}],
            clientData=stamp("reconciler", "old", "names"),
        ),
        person(
            "people/c4",
            etag="e4",
            names=[{"givenName": "Kept"}],
            clientData=stamp(
                "reconciler", "kept", "names", {"key": "reconciler.prune", "value": "false"}
            ),
        ),
    ]
    specs = [
        contact(
            "ana",
            groups=("friends", "work"),
            names=[{"givenName": "Ana", "familyName": "Núñez"}],
            emailAddresses=[{"value": "ana@example.com", "type": "home"}],
        ),
        contact(
            "bob",
            groups=("friends",),
            names=[{"givenName": "Bob"}],
            phoneNumbers=[{"value": "+1 650 555 0199"}],
        ),
        contact(
            "carol",
            annotations={"reconciler/adopt": "email"},
            emailAddresses=[{"value": "carol@example.com"}],
            organizations=[{"name": "Acme", "title": "CTO"}],
        ),
    ]
    wanted = desired(*specs, groups=(group("friends", "Friends"), group("work", "Work")))
    return build_plan(
        replace(wanted, revision="0123456789abcdef0123456789abcdef01234567"),
        live(*people, groups=groups),
        PlanOptions(prune=True),
    )
