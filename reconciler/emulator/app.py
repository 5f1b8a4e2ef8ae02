"""The emulator as a Starlette ASGI app.

``create_app()`` is all a caller needs: tests drive it in process through
``httpx.ASGITransport``, ``reconciler emulator`` serves it with uvicorn, and the embedded target
runs it inside the client. ``app.state.emulator`` is the backend,
:class:`~reconciler.emulator.backend.Emulator`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from reconciler.clock import Clock
from reconciler.emulator import admin, batch, directory, groups, listing, people
from reconciler.emulator.backend import Emulator
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.errors import ApiError, not_found
from reconciler.emulator.routing import error_response


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods still get a Google-style JSON body."""
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    if code == 404:
        return error_response(not_found())
    if code == 405:
        return error_response(
            ApiError("INVALID_ARGUMENT", f"Method {request.method} is not allowed on this path.")
        )
    return error_response(ApiError("INTERNAL", "Internal error encountered."))


def api_routes() -> list[BaseRoute]:
    """Every People API method, the most frequently called first (routes are tried in order).

    ``GET people/{id}`` never shadows a ``:verb`` path: those use other HTTP methods, and
    Starlette keeps looking for a route whose method matches too.
    """
    return [
        people.GET_ROUTE,
        *people.ROUTES,
        *listing.ROUTES,
        *groups.ROUTES,
        *directory.ROUTES,
    ]


def create_app(
    config: EmulatorConfig | None = None,
    *,
    state_path: str | Path | None = None,
    clock: Clock | None = None,
    extra_routes: list[BaseRoute] | None = None,
) -> Starlette:
    """A People API emulator app; state in memory, or in the SQLite file ``state_path``.

    The multipart ``/batch`` endpoint runs each inner call through
    ``app.state.emulator.dispatch``; ``extra_routes`` are mounted before everything else.
    """
    emulator = Emulator(config, state_path=state_path, clock=clock)
    routes: list[BaseRoute] = [
        *(extra_routes or []),
        *api_routes(),
        Route("/batch", batch.batch_endpoint, methods=["POST"], name="batch"),
        *admin.ROUTES,
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.emulator = emulator
    emulator.app = app
    return app
