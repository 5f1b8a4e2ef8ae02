"""An API call held at the server until the test lets it through, for tests of what a client
does while one of its requests is in flight (does it wait for the answer or give up on it?).

Wrap the emulator's ASGI app in :class:`HeldCall` and serve it over HTTP
(``reconciler.emulator.BackgroundServer``). The next call matching the armed method and path
is received (its body read) and then held: ``arrived`` is set; if the client goes away while it
is held, ``client_left`` is set and the emulator sees the disconnect before it reads the request,
as it does when a caller gives up during its latency (it answers nothing and counts a 499);
otherwise the call goes through once ``opened`` is set. ``answered`` is set when the emulator has
counted it either way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs

import httpx

__all__ = ["HeldCall", "statuses"]

Message = MutableMapping[str, Any]


class HeldCall:
    """The emulator, holding the next ``method`` call whose path ends with ``path``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._armed: tuple[str, str, str | None] | None = None
        self.arrived = threading.Event()
        self.opened = threading.Event()
        self.client_left = threading.Event()
        self.answered = threading.Event()

    def arm(self, method: str, path: str, *, param: str | None = None) -> None:
        """Hold the next ``method`` call to a path ending with ``path`` (and, with ``param``,
        whose query has that parameter: ``syncToken`` tells a poll from a full listing)."""
        self._armed = (method, path, param)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        armed = self._armed
        if (
            armed is None
            or scope["type"] != "http"
            or scope["method"] != armed[0]
            or not scope["path"].endswith(armed[1])
            or (armed[2] is not None and armed[2] not in _params(scope))
        ):
            await self.app(scope, receive, send)
            return
        self._armed = None
        request: Message = await receive()  # the request and its (small) body
        self.arrived.set()
        gone = asyncio.ensure_future(receive())  # answers only when the client disconnects
        opened = asyncio.ensure_future(asyncio.to_thread(self.opened.wait))
        await asyncio.wait({gone, opened}, return_when=asyncio.FIRST_COMPLETED)
        if gone.done():
            self.client_left.set()
        first: Message = {"type": "http.disconnect"} if self.client_left.is_set() else request
        given = False

        async def replay() -> Message:
            nonlocal given
            if not given:
                given = True
                return first
            return await gone

        try:
            await self.app(scope, replay, send)
        finally:
            self.answered.set()
            if not gone.done():
                gone.cancel()


def _params(scope: MutableMapping[str, Any]) -> dict[str, list[str]]:
    return parse_qs(scope.get("query_string", b"").decode("latin-1"))


async def statuses(url: str) -> dict[str, int]:
    """The emulator's answers so far by HTTP status (``"499"``: callers that gave up)."""
    async with httpx.AsyncClient(base_url=url) as http:
        answer: dict[str, int] = (await http.get("/__emulator/stats")).json()["by_status"]
    return answer
