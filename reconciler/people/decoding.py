"""Decoding a large JSON answer in slices, so that the event loop serves others meanwhile.

A listing page of 1,000 contacts with every compared field is ~1.6 MiB of JSON and takes
~20-30 ms of CPU to decode; when several accounts' pages arrive together the event loop would
decode them all in one go, and the controller's probes and every other account wait. A worker
thread does not help: ``json.loads`` holds the GIL for the whole document. So a large answer
is decoded here piece by piece with the standard library's own decoder: each member of the
top-level object whole, except a list, which is decoded item by item, yielding to the loop
after every :data:`SLICE_ITEMS` items. The result is exactly ``json.loads``'s; anything this
walk does not expect is handed to ``json.loads`` whole (which raises its usual error for a
malformed document).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

__all__ = ["SLICED_BYTES", "SLICE_ITEMS", "decode_json"]

SLICED_BYTES = 256 * 1024  # smaller answers are decoded at once (~4 ms at most)
SLICE_ITEMS = 50  # list items decoded between two yields (~1-2 ms of contacts)

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


class _Unexpected(ValueError):
    """The walk met something it does not handle: decode the document whole instead."""


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _expect(text: str, at: int, char: str) -> int:
    at = _skip(text, at)
    if text[at : at + 1] != char:
        raise _Unexpected(char)
    return at + 1


async def decode_json(content: bytes) -> Any:
    """``json.loads(content)``, yielding to the event loop while a large document decodes."""
    if len(content) < SLICED_BYTES:
        return json.loads(content)
    text = content.decode("utf-8")
    try:
        return await _object(text)
    except (_Unexpected, ValueError, IndexError):
        return json.loads(text)


async def _object(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    at = _expect(text, 0, "{")
    if text[_skip(text, at) : _skip(text, at) + 1] == "}":
        at = _skip(text, at) + 1
    else:
        while True:
            key, at = _DECODER.raw_decode(text, _skip(text, at))
            if not isinstance(key, str):
                raise _Unexpected("key")
            at = _skip(text, _expect(text, at, ":"))
            if text[at : at + 1] == "[":
                out[key], at = await _list(text, at + 1)
            else:
                out[key], at = _DECODER.raw_decode(text, at)
            at = _skip(text, at)
            if text[at : at + 1] == "}":
                at += 1
                break
            at = _expect(text, at, ",")
    if _skip(text, at) != len(text):
        raise _Unexpected("trailing data")
    return out


async def _list(text: str, at: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    at = _skip(text, at)
    if text[at : at + 1] == "]":
        return items, at + 1
    while True:
        item, at = _DECODER.raw_decode(text, _skip(text, at))
        items.append(item)
        if len(items) % SLICE_ITEMS == 0:
            await asyncio.sleep(0)
        at = _skip(text, at)
        if text[at : at + 1] == "]":
            return items, at + 1
        at = _expect(text, at, ",")
