"""An emulator whose time moves only when someone lists contacts.

A listing lag is a span of time between a create and the first listing that shows it. To test
what a run sees "20 seconds later" without waiting 20 seconds, the emulator's clock is a
:class:`~reconciler.clock.ManualClock` that this ASGI wrapper moves forward by ``step`` seconds
after each ``people.connections.list`` page it serves: time passes exactly as fast as clients look,
so the same requests always see the same thing, however loaded the machine is.
"""

from __future__ import annotations

from typing import Any

from reconciler.clock import ManualClock

LISTING_PATH = "/v1/people/me/connections"


class ListingTicks:
    """Wraps an emulator app; ``clock`` advances ``step`` seconds per listing page served."""

    def __init__(self, app: Any, clock: ManualClock, step: float) -> None:
        self.app = app
        self.state = app.state  # what fixtures and BackgroundServer users read
        self.clock = clock
        self.step = step
        self.listings = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope.get("type") == "http" and scope.get("path") == LISTING_PATH:
            self.listings += 1
            self.clock.advance(self.step)
