"""``/status``, ``/status/{account}``, the status page ``/`` and ``/accounts/{account}``.

They live on the health address beside ``/healthz`` and ``/readyz``: whoever may probe the
controller may read its status, and no address or contact data is in it (accounts appear under
their metrics label, contacts under their manifest name). Each answer is rendered from the
status model on the event loop, between passes' awaits, so it is always one consistent picture.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from reconciler.controller.serving import Response, Route
from reconciler.controller.status import StatusBoard
from reconciler.controller.statuspage import account_page, overview_page

__all__ = ["status_prefix_routes", "status_routes"]

JSON = "application/json"
HTML = "text/html; charset=utf-8"


def _json(data: object, status: int = 200) -> Response:
    return Response(status, json.dumps(data, separators=(",", ":")).encode(), JSON)


def _unknown(name: str) -> Response:
    return _json({"error": f"no account named {name!r} in this controller"}, 404)


def status_routes(board: StatusBoard) -> dict[str, Route]:
    """The fixed paths: ``/status`` (JSON) and ``/`` (the page)."""
    return {
        "/status": lambda: _json(board.to_json()),
        "/": lambda: Response(200, overview_page(board.to_json()), HTML),
    }


def status_prefix_routes(board: StatusBoard) -> dict[str, Callable[[str], Response]]:
    """The paths with an account name: ``/status/{name}`` and ``/accounts/{name}``."""

    def one(name: str) -> Response:
        account = board.accounts.get(name)
        if account is None:
            return _unknown(name)
        return _json(account.to_json(contacts=True) | {"generatedAt": board.timestamp()})

    def page(name: str) -> Response:
        account = board.accounts.get(name)
        if account is None:
            return Response(404, f"no account named {name!r}\n".encode())
        return Response(200, account_page(account.to_json(contacts=True), board.timestamp()), HTML)

    return {"/status/": one, "/accounts/": page}
