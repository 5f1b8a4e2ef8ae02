"""The status routes on the controller's small server, and the account labels they use."""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.controller.accounts import Account, DriftPolicy
from reconciler.controller.labels import account_label, subject_label
from reconciler.controller.serving import Response, SmallHttpServer
from reconciler.controller.status import StatusBoard
from reconciler.controller.statusroutes import status_prefix_routes, status_routes


def test_labels_are_stable_short_and_never_the_address() -> None:
    """The same subject gets the same label in any case or spacing; the token's own user is
    ``default``; nothing of the mailbox shows."""
    label = subject_label("Alice@Example.com ")
    assert label == subject_label("alice@example.com") == "acct-ff8d9819fc"
    assert "alice" not in label
    assert subject_label(None) == "default"
    account = Account("alice@example.com", (Path("m"),), "o", False, DriftPolicy.CORRECT)
    assert account_label(account) == label


async def test_account_paths_route_by_name_and_everything_else_is_404() -> None:
    """``/status/{name}`` and ``/accounts/{name}`` find the account (names are URL-decoded);
    an unknown name, a deeper path or a bare prefix is 404; fixed routes still win."""
    board = StatusBoard()
    account = board.account("acct-0123456789", drift_policy="report", suspended=False)
    account.manifests_loaded(contacts=["jane"], revision=None)
    server = SmallHttpServer(
        {**status_routes(board), "/healthz": lambda: Response(200, b"ok\n")},
        status_prefix_routes(board),
    )
    host, port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            one = await http.get("/status/acct%2D0123456789")
            assert (one.status_code, one.json()["name"]) == (200, "acct-0123456789")
            assert [c["key"] for c in one.json()["contacts"]] == ["jane"]
            page = await http.get("/accounts/acct-0123456789")
            assert page.headers["content-type"] == "text/html; charset=utf-8"
            assert "<h1>acct-0123456789" in page.text
            overview = await http.get("/")
            assert 'href="/accounts/acct-0123456789"' in overview.text
            assert 'http-equiv="refresh"' in overview.text
            for path in ("/status/nobody", "/status/acct-0123456789/x", "/status/", "/accounts/"):
                assert (await http.get(path)).status_code == 404, path
            assert (await http.get("/healthz")).text == "ok\n"
            assert (await http.get("/status")).json()["summary"]["accounts"] == 1
    finally:
        await server.close()


async def test_names_are_escaped_in_the_page() -> None:
    """Whatever a label holds, the page shows it as text, never as markup."""
    board = StatusBoard()
    board.account("<b>x</b>", drift_policy="correct", suspended=False)
    server = SmallHttpServer(status_routes(board), status_prefix_routes(board))
    host, port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
            text = (await http.get("/")).text
    finally:
        await server.close()
    assert "<b>x</b>" not in text
    assert "&lt;b&gt;x&lt;/b&gt;" in text
