"""A caller that goes away before its request is read (a controller cancelling a poll as it
stops) is not an emulator failure: nothing is done, no 500 is counted, no traceback is logged."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette

from reconciler.emulator import Emulator
from tests.support.world import TOKEN


async def call_then_disconnect(
    app: Starlette, method: str, path: str
) -> list[MutableMapping[str, Any]]:
    """Send ``method path`` to the ASGI app, the client disconnecting instead of sending a body;
    returns the ASGI messages the app sent back."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode()), (b"host", b"emulator")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_client_gone_before_its_body_is_read_is_not_a_500(
    app: Starlette, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The create is not made, the call is counted as 499 (the client closed it), never as a
    500, and the emulator logs no traceback."""
    with caplog.at_level(logging.ERROR):
        await call_then_disconnect(app, "POST", "/v1/people:createContact")
    stats = emulator.stats.snapshot()
    assert stats["by_status"] == {"499": 1}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert emulator.book(emulator.user_for_token(TOKEN)).people == {}
