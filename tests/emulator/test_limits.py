"""Limits: the numbers live in reconciler.model.limits, and the emulator enforces them.

Sources: the discovery document (google-api-python-client's people.v1.json) for the batch and
page sizes; for the 25,000 contacts per account, Google Contacts' published account limit as
quoted in https://contactsplus.com/blog/7-tips-tricks-google-contacts and
https://github.com/SimpleMobileTools/Simple-Contacts/issues/1067. What the People API answers
beyond it is not published: the emulator's 400 FAILED_PRECONDITION is inferred
(docs/people-api.md, "Limits").
"""

from __future__ import annotations

import ast
from pathlib import Path

import httpx

from reconciler.emulator import Emulator, contacts
from reconciler.emulator.schema import WRITABLE_FIELDS
from reconciler.model.limits import MAX_CONTACTS_PER_USER
from reconciler.people import errors

EMULATOR = Path(__file__).resolve().parents[2] / "reconciler" / "emulator"


def _fill(emulator: Emulator, room: int) -> None:
    """Store contacts directly until only ``room`` more fit (fast: no HTTP per contact)."""
    book = emulator.book("alice@example.com")
    for number in range(MAX_CONTACTS_PER_USER - room - len(book.people)):
        person = {"names": [{"givenName": f"P{number}"}]}
        book.put_contact(contacts.create(book, person, 0.0, 10**18 + number, WRITABLE_FIELDS))


async def test_the_25001st_contact_is_refused(api: httpx.AsyncClient, emulator: Emulator) -> None:
    """createContact succeeds up to 25,000 contacts and is a 400 beyond, which our client takes
    for a permanent error (never retried)."""
    _fill(emulator, room=1)
    body = {"names": [{"givenName": "Last"}]}
    assert (await api.post("/v1/people:createContact", json=body)).status_code == 200
    refused = await api.post("/v1/people:createContact", json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    error = errors.classify(400, refused.json())
    assert isinstance(error, errors.InvalidArgument)
    assert not error.retryable


async def test_a_batch_create_past_the_limit_writes_nothing(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """batchCreateContacts is all or nothing: past the limit it names the items that do not
    fit and creates none."""
    _fill(emulator, room=2)
    body = {"contacts": [{"contactPerson": {"names": [{"givenName": f"N{i}"}]}} for i in range(3)]}
    refused = await api.post("/v1/people:batchCreateContacts", json=body)
    assert refused.status_code == 400
    assert set(refused.json()["error"]["details"][-1]["contactErrors"]) == {"2"}
    assert len(emulator.book("alice@example.com").people) == MAX_CONTACTS_PER_USER - 2


def test_the_emulator_keeps_no_limit_of_its_own() -> None:
    """No emulator module defines a MAX_* constant: every limit comes from model/limits."""
    for path in EMULATOR.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        ]
        assert not [n for n in names if n.startswith("MAX_")], path.name
