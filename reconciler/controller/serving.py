"""A tiny HTTP/1.1 server for probes and scrapes, on the controller's own event loop.

Three fixed GET paths with small bodies do not need a framework. A plain ``asyncio`` server was
chosen over uvicorn because ``uvicorn.Server.serve`` installs its own SIGINT/SIGTERM handlers,
which would race the controller's graceful drain; and running in the same loop as the workers is
the point of a liveness probe: if the loop is wedged, the probe goes unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["AddressError", "PrefixRoute", "Response", "Route", "SmallHttpServer", "parse_addr"]

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
_MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


Route = Callable[[], Response]
PrefixRoute = Callable[[str], Response]
"""Serves every path under a prefix ending in ``/``; called with the rest of the path, decoded."""


class AddressError(ValueError):
    """An address flag that is not ``[HOST]:PORT``."""


def parse_addr(addr: str) -> tuple[str, int] | None:
    """``:8081`` -> ``("0.0.0.0", 8081)``; ``127.0.0.1:0`` -> random port; ``0`` or empty: off."""
    text = addr.strip()
    if text in ("", "0"):
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise AddressError(
            f"address must be [HOST]:PORT, for example :8080 or 127.0.0.1:8080: {addr!r}"
        )
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class SmallHttpServer:
    """Serves ``routes`` (path -> handler) and ``prefixes`` (``/prefix/`` -> handler of the
    rest) for GET and HEAD; everything else is 404/405."""

    def __init__(
        self, routes: Mapping[str, Route], prefixes: Mapping[str, PrefixRoute] | None = None
    ) -> None:
        self._routes = dict(routes)
        self._prefixes = dict(prefixes or {})
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; return the bound address (the real port when ``port`` is 0)."""
        self._server = await asyncio.start_server(self._handle, host, port)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        except ConnectionError:
            return
        request_line = head[:_MAX_HEADER_BYTES].split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        method, target = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
        path = target.split("?", 1)[0]
        route = self._routes.get(path) or self._prefixed(path)
        if route is None:
            response = Response(404, b"not found\n")
        elif method not in ("GET", "HEAD"):
            response = Response(405, b"method not allowed\n")
        else:
            response = route()
        reason = _REASONS.get(response.status, "")
        header = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1")
        try:
            writer.write(header if method == "HEAD" else header + response.body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _prefixed(self, path: str) -> Route | None:
        for prefix, handler in self._prefixes.items():
            rest = unquote(path[len(prefix) :]) if path.startswith(prefix) else ""
            if rest and "/" not in rest:
                return functools.partial(handler, rest)
        return None
