"""An API answer is freed as soon as the client has decoded it, not by the garbage collector.

httpx binds each response and its stream to each other, so an answer (its body, its request
and the request's body) was garbage in a reference cycle: it stayed in memory until a
collection found it, and a converging replica's answers piled up into the generations a full
collection walks (holding the GIL for the whole walk). With automatic collection off, nothing
but reference counting can free the answer here.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.people.client import PeopleClient
from reconciler.people.multipart import InnerRequest
from reconciler.people.transport import Transport
from tests.support.clients import BASE_URL
from tests.support.persons import new_person

USER = "tester@example.com"
FIELDS = "names,emailAddresses,metadata"


@pytest.fixture
def no_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def test_json_and_batch_answers_are_freed_once_decoded(
    emulator_app: Starlette, no_collector: None
) -> None:
    """After a create, a listing and a multipart batch call, every response the client got
    is gone although no collection ran."""
    answers: list[weakref.ref[httpx.Response]] = []

    async def keep(response: httpx.Response) -> None:
        answers.append(weakref.ref(response))

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator_app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer user:{USER}"},
        event_hooks={"response": [keep]},
    ) as http:
        transport = Transport(http, account=USER)
        client = PeopleClient(transport)
        created = await client.batch_create([new_person(i) for i in range(3)], FIELDS)
        listing = await client.list_people(FIELDS)
        name = str(created[0].resource_name)
        parts = await transport.send_batch(
            [
                InnerRequest(
                    "GET", f"/v1/{name}", params=[("personFields", "names")], content_id="1"
                )
            ],
            create=False,
        )
        assert len(listing.people) == 3
        assert [p.status for p in parts.values()] == [200]
        assert len(answers) == 3
        assert [answer() for answer in answers] == [None, None, None]
