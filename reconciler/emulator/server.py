"""Serving the emulator over real HTTP: its own process's collector, or a background thread.

``reconciler emulator`` serves within :func:`serving`: the collector settings every serving
process shares (``reconciler.collector.tuned``: thresholds, the start-up freeze, switch
interval, pauses timed) and the emulator's own freeze. The emulator's heap is nearly all
long-lived: each user's stored people, kept until deleted, ~2.8 GB at 1,000 accounts x 200
contacts. Each full collection walked all of it with the GIL held (2-9.6 s late in such a run)
while no call was answered or counted. So what survives a full collection is frozen at its end
(``gc.freeze`` in the ``gc.callbacks`` hook, constant time): the next full collection walks
only what was made since. The price: an object frozen so that later becomes garbage in a
reference cycle stays (without a cycle, reference counting frees it as always); the stored
people form no cycles, so what stays is what a few in-flight requests and connections held.

Tests that need a socket (a client nobody here wrote, the CLI end to end) and users' own scripts
use :class:`BackgroundServer`: it binds 127.0.0.1 on a random free port, serves the app with
uvicorn until the ``with`` block ends, and exposes the URL. It runs in its caller's process and
leaves that process's collector alone.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from reconciler.collector import tuned


def freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    """The ``gc.callbacks`` hook: at the end of a full collection, freeze what survived it."""
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


@contextmanager
def serving() -> Iterator[None]:
    """Within: the shared collector settings, and survivors of full collections frozen (see
    the module); everything is as it was after."""
    with tuned():
        gc.callbacks.append(freeze_survivors)
        try:
            yield
        finally:
            gc.callbacks.remove(freeze_survivors)


class BackgroundServer:
    """A uvicorn server for ``app`` in a daemon thread; ``.url`` once started."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        """Bind, start serving and wait until the server accepts connections."""
        # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say they are TCP;
        # without it each keep-alive response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
