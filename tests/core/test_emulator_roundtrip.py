"""A plan made right after an apply is empty, against the emulator's own formatting.

Real manifests (national phone formats, mixed-case emails, decomposed unicode, groups) are
loaded with the real loader, planned, and the plan's bodies are sent as they are to the
in-process emulator. What the emulator stores and returns (``formattedType``,
``canonicalForm``, ``displayName``, metadata, its own ordering) must plan to nothing. The
executor here is deliberately minimal: it sends each item's body and mask, nothing else.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from reconciler.manifest import load
from reconciler.model import DesiredState, LiveState
from reconciler.plan import Method, Plan, PlanOptions, build_plan, resolve_body

AUTH = {"Authorization": "Bearer user:core@example.com"}
FIELDS = (
    "names,emailAddresses,phoneNumbers,organizations,urls,biographies,birthdays,nicknames,"
    "addresses,clientData,memberships"
)

MANIFESTS = f"""\
apiVersion: reconciler/v1
kind: ContactGroup
metadata: {{name: friends}}
spec: {{name: Friends}}
---
apiVersion: reconciler/v1
kind: Contact
metadata: {{name: jose}}
spec:
  names: [{{givenName: "{unicodedata.normalize("NFD", "José")}", familyName: Núñez}}]
  emailAddresses: [{{value: Jose.Nunez@Example.COM, type: work}}, Home@Example.org]
  phoneNumbers: [{{value: "(650) 555-0100", type: mobile}}, "+44 20 7946 0958"]
  organizations: [{{name: Acme, title: CTO}}]
  birthdays: [{{date: {{month: 2, day: 29}}}}]
  addresses: [{{streetAddress: 1 Main St, city: Springfield, type: home}}]
  groups: [friends]
---
apiVersion: reconciler/v1
kind: Contact
metadata: {{name: zoe}}
spec:
  names: [{{givenName: Zoë}}]
  phoneNumbers: ["650.555.0199", "1-650-555-0142"]
  urls: [https://zoe.example]
  biographies: [{{value: "Écrit des poèmes."}}]
"""


async def execute(client: httpx.AsyncClient, plan: Plan) -> None:
    """Send every batch of ``plan`` to the emulator, the way the API expects it."""
    created: dict[str, str] = {}
    for wave in plan.waves:
        for batch in wave.batches:
            if batch.method is Method.CREATE_GROUP:
                for item in batch.items:
                    r = await client.post(
                        "/v1/contactGroups", json={"contactGroup": dict(item.body)}
                    )
                    r.raise_for_status()
                    created[item.key] = r.json()["resourceName"]
            elif batch.method is Method.BATCH_CREATE:
                contacts = [{"contactPerson": resolve_body(i.body, created)} for i in batch.items]
                r = await client.post(
                    "/v1/people:batchCreateContacts",
                    json={"contacts": contacts, "readMask": "names"},
                )
                r.raise_for_status()
            elif batch.method is Method.BATCH_UPDATE:
                contacts = {i.resource_name: resolve_body(i.body, created) for i in batch.items}
                r = await client.post(
                    "/v1/people:batchUpdateContacts",
                    json={
                        "contacts": contacts,
                        "updateMask": ",".join(batch.update_mask),
                        "readMask": "names",
                    },
                )
                r.raise_for_status()
            else:
                raise AssertionError(f"this test does not execute {batch.method}")


async def read_live(client: httpx.AsyncClient) -> LiveState:
    people = await client.get(
        "/v1/people/me/connections", params={"personFields": FIELDS, "pageSize": 1000}
    )
    groups = await client.get(
        "/v1/contactGroups",
        params={"pageSize": 1000, "groupFields": "clientData,groupType,metadata,name"},
    )
    people.raise_for_status()
    groups.raise_for_status()
    return LiveState(
        people=people.json().get("connections", []), groups=groups.json()["contactGroups"]
    )


async def test_plan_after_apply_is_empty_against_the_emulator(
    emulator_app: Starlette, tmp_path: Path
) -> None:
    """Create from manifests, read back, plan again: nothing to do."""
    (tmp_path / "book.yaml").write_text(MANIFESTS, encoding="utf-8")
    loaded = load([tmp_path])
    assert loaded.ok, [str(e) for e in loaded.errors]
    desired = DesiredState(loaded.contacts, loaded.groups, complete=True)
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=AUTH
    ) as client:
        first = build_plan(desired, await read_live(client), PlanOptions())
        assert first.summary().add == 3
        await execute(client, first)
        live = await read_live(client)
        assert len(live.people) == 2
        assert build_plan(desired, live, PlanOptions()).empty


async def test_edits_outside_our_fields_and_respellings_plan_nothing(
    emulator_app: Starlette, tmp_path: Path
) -> None:
    """A nickname added on a phone and a number retyped in another format are not drift."""
    (tmp_path / "book.yaml").write_text(MANIFESTS, encoding="utf-8")
    loaded = load([tmp_path])
    desired = DesiredState(loaded.contacts, loaded.groups)
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=AUTH
    ) as client:
        await execute(client, build_plan(desired, await read_live(client)))
        live = await read_live(client)
        zoe: dict[str, Any] = next(p for p in live.people if p["names"][0]["givenName"] == "Zoë")
        edit = {
            "user": "core@example.com",
            "resourceName": zoe["resourceName"],
            "person": {
                "nicknames": [{"value": "Zo"}],
                "phoneNumbers": [{"value": "+1 650 555 0142"}, {"value": "(650) 555-0199"}],
            },
            "updatePersonFields": "nicknames,phoneNumbers",
        }
        (await client.post("/__emulator/edit", json=edit)).raise_for_status()
        assert build_plan(desired, await read_live(client)).empty
        edit["person"] = {"phoneNumbers": [{"value": "(650) 555-0000"}]}
        edit["updatePersonFields"] = "phoneNumbers"
        (await client.post("/__emulator/edit", json=edit)).raise_for_status()
        drift = build_plan(desired, await read_live(client))
        (item,) = drift.changes
        assert item.update_mask == ("phoneNumbers",)
        await execute(client, drift)
        assert build_plan(desired, await read_live(client)).empty
