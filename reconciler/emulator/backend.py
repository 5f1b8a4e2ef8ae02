"""The emulator's state and the services every request goes through.

:class:`Emulator` holds the address books (one per user), the knobs, the clock, the seeded random
generator, the request statistics and the optional SQLite write-through. The HTTP layer
(:mod:`reconciler.emulator.app`) is a thin shell over it.

For the multipart ``/batch`` endpoint, :meth:`Emulator.dispatch` runs one inner request through
the very same ASGI app (routing, authentication, knobs, quotas and statistics included), in
process, and returns its status, headers and body.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from reconciler.clock import Clock, SystemClock
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.directory import Directory
from reconciler.emulator.faults import Faults
from reconciler.emulator.persistence import Persistence
from reconciler.emulator.stats import Stats
from reconciler.emulator.store import AddressBook

DEFAULT_USER = "default@example.com"


class Emulator:
    """Everything the emulator knows; one instance per app."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        state_path: str | Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.clock: Clock = clock or SystemClock()
        self.offset = 0.0
        """Seconds the admin surface has moved time forward (``POST /__emulator/clock``)."""
        self.rng = random.Random(self.config.seed)
        self.stats = Stats()
        self.books: dict[str, AddressBook] = {}
        self.directory = Directory()  # the Admin SDK's users and groups; in memory only
        self.app: ASGIApp | None = None
        self.faults = Faults(self)
        self.persistence = Persistence(Path(state_path)) if state_path is not None else None
        if self.persistence is not None:
            self.books = self.persistence.load()
            for book in self.books.values():
                book.ensure_system_groups(self.now())
            self.commit()

    def now(self) -> float:
        """The emulator's current time, in seconds since the epoch: its clock plus whatever
        the admin surface has added, so scripts can expire sync tokens, let lag windows pass
        and refill quotas over HTTP without waiting."""
        return self.clock.now() + self.offset

    def advance(self, seconds: float) -> float:
        """Move the emulator's time forward by ``seconds`` (never back); the new time."""
        if seconds < 0:
            raise ValueError(f"time only moves forward: {seconds}")
        self.offset += seconds
        return self.now()

    def book(self, user: str) -> AddressBook:
        """The address book of ``user``, created empty (with system groups) on first use."""
        book = self.books.get(user)
        if book is None:
            book = AddressBook(user)
            book.ensure_system_groups(self.now())
            self.books[user] = book
        return book

    def user_for_token(self, token: str) -> str:
        """``user:<email>`` selects that user's address book; any other token a default user."""
        if token.startswith("user:") and len(token) > len("user:"):
            return token[len("user:") :]
        return DEFAULT_USER

    def reset(self) -> None:
        """Forget every contact, group, directory entry, statistic and quota; keep the knobs."""
        users = list(self.books)
        self.books = {}
        self.directory.clear()
        self.stats.clear()
        self.rng = random.Random(self.config.seed)
        self.faults.clear()
        if self.persistence is not None:
            self.persistence.forget(users)

    def configure(self, changes: dict[str, Any]) -> EmulatorConfig:
        """Validate and apply knob changes; a new seed restarts the random generator."""
        merged = self.config.model_dump() | changes
        self.config = EmulatorConfig.model_validate(merged)
        if "seed" in changes:
            self.rng = random.Random(self.config.seed)
        return self.config

    def commit(self, books: Iterable[AddressBook] | None = None) -> None:
        """Write what changed to the state file, in one transaction; a no-op in memory."""
        targets = list(self.books.values()) if books is None else list(books)
        if self.persistence is not None:
            self.persistence.save(targets)
        for book in targets:
            book.dirty.clear()

    async def dispatch(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]] | dict[str, str],
        body: bytes = b"",
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Run one request through the app in process: ``(status, headers, body)``.

        ``target`` is the path with its query string (``/v1/people/c1?personFields=names``).
        The request is routed, authenticated, subjected to the knobs and quotas, and counted in
        the statistics exactly like a request that came over the network. This is what the
        multipart ``/batch`` endpoint uses for each of its parts.
        """
        if self.app is None:
            raise RuntimeError("the emulator is not mounted in an app")
        path, _, query = target.partition("?")
        pairs = headers.items() if isinstance(headers, dict) else headers
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 80),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        response_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, response_headers, b"".join(chunks)
