"""``reconciler emulator``: serve the People API emulator over HTTP.

For people building against Google contacts without a Google account, and for end-to-end tests
that need a real socket. Every knob of :class:`~reconciler.emulator.EmulatorConfig` is a flag
(``latency_ms`` is ``--latency-ms``), generated from the model so the two never drift apart.
The socket is bound before the server starts, so ``--port 0`` picks a free port and the line
printed once the server accepts requests names the real one.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import click
import uvicorn
from pydantic import ValidationError

from reconciler.cli.options import option
from reconciler.emulator import EmulatorConfig, create_app
from reconciler.emulator.server import serving

_TYPES: dict[object, Any] = {int: click.INT, float: click.FLOAT, str: click.STRING}


def knob_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """One ``--knob-name`` flag per EmulatorConfig field; unset flags keep the model default."""
    for name, field in reversed(EmulatorConfig.model_fields.items()):
        default = f" [default: {field.default}]" if field.default else ""
        command = option(
            "--" + name.replace("_", "-"),
            name,
            type=_TYPES.get(field.annotation, click.STRING),
            default=None,
            help=(field.description or name) + default,
        )(command)
    return command


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 = any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn, announcing its URL on stdout once it accepts requests."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            click.echo(f"People API emulator listening on {url_of(sockets[0])}")


def serve(app: Any, sock: socket.socket) -> None:
    """Run uvicorn on ``sock`` until SIGINT or SIGTERM."""
    with serving():  # this process serves: the emulator's collector settings
        _Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])


@click.command()
@option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@option(
    "--port", default=8085, show_default=True, type=click.IntRange(0, 65535), help="0 = any free."
)
@option(
    "--state",
    default=None,
    type=click.Path(dir_okay=False),
    help="SQLite file that keeps every address book across restarts (default: in memory).",
)
@knob_options
def emulator(host: str, port: int, state: str | None, **knobs: Any) -> None:
    """Serve the People API emulator over HTTP (bearer token 'user:<email>' picks the user)."""
    try:
        config = EmulatorConfig(**{k: v for k, v in knobs.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        flag = "--" + str(error["loc"][0]).replace("_", "-")
        raise click.BadParameter(error["msg"], param_hint=flag) from None
    app = create_app(config, state_path=state)
    serve(app, bind(host, port))
