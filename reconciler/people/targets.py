"""``connect(target)``: one entry point for the three places the People API can be.

``embedded`` runs the emulator in process (through ``httpx.ASGITransport``, no socket) with its
state in a SQLite file; ``http://HOST:PORT`` is an emulator or any People-compatible endpoint,
authorised with a static bearer token; ``google`` is the real API through google-auth.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from reconciler.clock import Clock
from reconciler.people.auth import BearerToken, GoogleAuth, HttpxTokenRequest, load_credentials
from reconciler.people.client import PeopleClient
from reconciler.people.pacing import Pacer
from reconciler.people.transport import ClientConfig, Transport
from reconciler.statedir import StateDir

__all__ = ["GOOGLE_BASE_URL", "connect"]

GOOGLE_BASE_URL = "https://people.googleapis.com/"
EMBEDDED_BASE_URL = "http://embedded.invalid/"


def _account(subject: str | None, token: str | None) -> str:
    """A name for pacing and logs: the subject, the user an emulator token names, or default.
    Never the token itself."""
    if subject:
        return subject
    if token and token.startswith("user:") and len(token) > len("user:"):
        return token[len("user:") :]
    return "default"


@asynccontextmanager
async def connect(
    target: str = "embedded",
    *,
    token: str | None = None,
    state: str | Path | None = None,
    subject: str | None = None,
    credentials: str | Path | None = None,
    config: ClientConfig | None = None,
    clock: Clock | None = None,
    pacer: Pacer | None = None,
    rng: random.Random | None = None,
    app: Any = None,
) -> AsyncIterator[PeopleClient]:
    """Yield a :class:`PeopleClient` for ``target``; closes its connections on exit.

    ``state`` (embedded only) is the emulator's SQLite file, by default the one in the
    default state directory (:mod:`reconciler.statedir`); ``app`` (embedded only) uses an
    already built emulator app instead of creating one.
    """
    config = config or ClientConfig()
    timeout = httpx.Timeout(config.timeout)
    auth: httpx.Auth | None
    emulator: Any = None
    if target == "embedded":
        if app is None:
            from reconciler.emulator import create_app

            path = Path(state) if state else StateDir.at().embedded_state
            path.parent.mkdir(parents=True, exist_ok=True)
            app = create_app(state_path=path)
            emulator = app.state.emulator
        auth = BearerToken(token or f"user:{subject or 'default'}")
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=EMBEDDED_BASE_URL,
            timeout=timeout,
            auth=auth,
        )
    elif target.startswith(("http://", "https://")):
        auth = BearerToken(token) if token else None
        http = httpx.AsyncClient(base_url=target.rstrip("/") + "/", timeout=timeout, auth=auth)
    elif target == "google":
        token_request = HttpxTokenRequest()  # token refreshes and, keyless, the signBlob calls
        google_credentials = load_credentials(
            credentials, subject=subject, token_request=token_request
        )
        auth = GoogleAuth(google_credentials, token_request=token_request)
        http = httpx.AsyncClient(base_url=GOOGLE_BASE_URL, timeout=timeout, auth=auth)
    else:
        raise ValueError(f"target must be 'embedded', 'google' or an http(s):// URL: {target!r}")
    transport = Transport(
        http,
        account=_account(subject, token if target != "google" else None),
        config=config,
        clock=clock,
        pacer=pacer,
        rng=rng,
    )
    try:
        yield PeopleClient(transport)
    finally:
        await http.aclose()
        persistence = getattr(emulator, "persistence", None)
        if persistence is not None:
            persistence.close()
