"""Large answers are decoded in slices that let the event loop run between them, to exactly
what ``json.loads`` returns."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest

from reconciler.people.client import PeopleClient
from reconciler.people.decoding import SLICE_ITEMS, SLICED_BYTES, decode_json
from reconciler.people.transport import Transport


def person(i: int) -> dict[str, Any]:
    return {
        "resourceName": f"people/c{i}",
        "etag": f"%E{i}",
        "names": [{"givenName": f"Given{i}", "familyName": 'Ünïcødé \u2603 "q" \\ end'}],
        "emailAddresses": [{"value": f"p{i}@example.com", "metadata": {"primary": True}}],
        "memberships": [],
        "userDefined": [{"key": "n", "value": str(i * 1.5)}],
        "big": 12345678901234567890,
        "none": None,
    }


def listing(n: int) -> dict[str, Any]:
    return {"connections": [person(i) for i in range(n)], "totalPeople": n, "x": [[1, [2]], {}]}


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize(
    "document",
    [listing(3000), {"connections": [], "nextSyncToken": "t", "pad": "x" * SLICED_BYTES}],
)
async def test_a_large_answer_decodes_to_what_json_loads_returns(
    document: dict[str, Any], indent: int | None
) -> None:
    """Whitespace, escapes, numbers, nulls, empty and nested lists: the same result."""
    content = json.dumps(document, indent=indent, ensure_ascii=indent is None).encode()
    assert len(content) >= SLICED_BYTES
    assert await decode_json(content) == json.loads(content)


@pytest.mark.parametrize(
    "content",
    [
        b"[" + b"1," * SLICED_BYTES + b"2]",  # not an object: decoded whole
        b'{"a": [' + b"1," * SLICED_BYTES + b"2]} trailing",
        b'{"a": [' + b"1," * SLICED_BYTES + b"2}",
    ],
)
async def test_anything_else_gets_json_loads_own_answer(content: bytes) -> None:
    """A document the walk does not expect is decoded whole: the same value or the same error."""
    try:
        expected: Any = json.loads(content)
    except json.JSONDecodeError as error:
        expected = error
    if isinstance(expected, json.JSONDecodeError):
        with pytest.raises(json.JSONDecodeError, match=re.escape(str(expected))):
            await decode_json(content)
    else:
        assert await decode_json(content) == expected


async def test_decoding_a_listing_page_lets_the_loop_run_between_slices() -> None:
    """While the client decodes a page of 3,000 contacts, other tasks run again and again: the
    decode is cut into slices of SLICE_ITEMS contacts instead of one stretch of the loop."""
    body = json.dumps(listing(3000)).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://api/")
    client = PeopleClient(Transport(http))
    turns = 0
    done = False

    async def other_work() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    before = turns
    listed = await client.list_people(["names"])
    done = True
    await other
    assert len(listed.people) == 3000
    assert turns - before >= 3000 // SLICE_ITEMS
