"""An in-memory People API, just enough to execute a plan and check what it did.

``simulate(plan, book)`` runs every wave and batch against a copy of ``book`` the way the server
would: etags are checked and replaced, masked fields are replaced whole or cleared, batch limits
and the last-membership rule are enforced, and the server's own formatting is added
(``formattedType``, ``canonicalForm``, ``displayName``, entry ``metadata``, reversed entry order),
so that a second plan proves the comparison ignores it.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from reconciler.model import LiveState
from reconciler.plan import BATCH_LIMITS, Action, Method, Plan, resolve_body

_ids = itertools.count(1000)


@dataclass
class Book:
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    def state(self, complete: bool = True) -> LiveState:
        return LiveState(
            people=copy.deepcopy(list(self.people.values())),
            groups=copy.deepcopy(list(self.groups.values())),
            complete=complete,
        )

    def copy(self) -> Book:
        return Book(copy.deepcopy(self.people), copy.deepcopy(self.groups))


def server_format(name: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the server stores for ``entries`` of field ``name``: decorated and reordered."""
    out = []
    for n, raw in enumerate(entries):
        entry = copy.deepcopy(raw)
        entry["metadata"] = {"primary": n == 0, "source": {"type": "CONTACT", "id": "x"}}
        if "type" in entry:
            entry["formattedType"] = str(entry["type"]).title()
        if name == "phoneNumbers":
            try:
                number = phonenumbers.parse(entry["value"], "US")
                entry["canonicalForm"] = phonenumbers.format_number(
                    number, phonenumbers.PhoneNumberFormat.E164
                )
            except phonenumbers.NumberParseException:
                pass
        if name == "names":
            parts = [entry.get("givenName", ""), entry.get("familyName", "")]
            entry["displayName"] = " ".join(p for p in parts if p)
            entry.setdefault("unstructuredName", entry["displayName"])
        out.append(entry)
    if name == "memberships":
        return [copy.deepcopy(e) for e in entries]
    return list(reversed(out))


def _write_person(target: dict[str, Any], body: dict[str, Any], fields: list[str]) -> None:
    for name in fields:
        value = body.get(name)
        if value:
            target[name] = server_format(name, value)
        else:
            target.pop(name, None)
    if not target.get("memberships"):
        raise AssertionError("a contact must keep at least one membership")
    target["etag"] = f"etag-{next(_ids)}"


def simulate(plan: Plan, book: Book) -> Book:
    """``book`` after ``plan`` ran against it. Raises on anything the API would refuse."""
    out = book.copy()
    created: dict[str, str] = {}
    for wave in plan.waves:
        for batch in wave.batches:
            assert 0 < len(batch.items) <= BATCH_LIMITS[batch.method]
            for item in batch.items:
                assert item.action is not Action.NOOP
                _execute(batch.method, batch.update_mask, item, out, created)
    return out


def _execute(
    method: Method, mask: tuple[str, ...], item: Any, out: Book, created: dict[str, str]
) -> None:
    if method is Method.CREATE_GROUP:
        rn = f"contactGroups/g{next(_ids)}"
        created[item.key] = rn
        out.groups[rn] = {
            "resourceName": rn,
            "etag": f"ge{next(_ids)}",
            "groupType": "USER_CONTACT_GROUP",
            **copy.deepcopy(dict(item.body)),
        }
    elif method is Method.UPDATE_GROUP:
        live = out.groups[item.resource_name]
        assert live["etag"] == item.etag, "stale group etag"
        for name in mask:
            live[name] = copy.deepcopy(item.body[name])
        live["etag"] = f"ge{next(_ids)}"
    elif method is Method.DELETE_GROUP:
        del out.groups[item.resource_name]
        for person in out.people.values():
            person["memberships"] = [
                m
                for m in person.get("memberships", [])
                if m["contactGroupMembership"]["contactGroupResourceName"] != item.resource_name
            ]
    elif method is Method.BATCH_CREATE:
        body = resolve_body(item.body, created)
        rn = f"people/c{next(_ids)}"
        person: dict[str, Any] = {
            "resourceName": rn,
            "metadata": {"sources": [{"type": "CONTACT"}]},
        }
        _write_person(person, body, list(body))
        out.people[rn] = person
    elif method is Method.BATCH_UPDATE:
        assert item.update_mask == mask, "an item rode in a batch with another mask"
        live = out.people[item.resource_name]
        assert live["etag"] == item.etag == item.body["etag"], "stale etag"
        _write_person(live, resolve_body(item.body, created), list(mask))
    elif method is Method.BATCH_DELETE:
        del out.people[item.resource_name]
    else:  # pragma: no cover - the enum is closed
        raise AssertionError(method)
