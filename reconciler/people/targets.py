"""``connect(target)``: one entry point for the three places the People API can be.

``embedded`` runs the emulator in process (through ``httpx.ASGITransport``, no socket) with its
state in a SQLite file; ``http://HOST:PORT`` is an emulator or any People-compatible endpoint,
authorised with a static bearer token; ``google`` is the real API through google-auth.

A controller replica keeps thousands of accounts; each gets its own client (its own auth and
pacing), but all of them share one :class:`Replica`: one connection pool (an
``httpx.AsyncClient`` of its own per account would cost an SSL context, 0.85 MiB and ~50 ms of
blocked event loop each), one :class:`~reconciler.people.pacing.Pacer` (so the project's quota
is one budget) and, on ``google``, one client for the token endpoint.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reconciler.clock import Clock
from reconciler.people.auth import (
    SCOPES,
    BearerToken,
    GoogleAuth,
    HttpxTokenRequest,
    load_credentials,
)
from reconciler.people.client import PeopleClient
from reconciler.people.pacing import Pacer, PacingConfig
from reconciler.people.transport import ClientConfig, Transport
from reconciler.statedir import StateDir

__all__ = ["GOOGLE_BASE_URL", "Replica", "connect", "open_replica", "replica_http"]

GOOGLE_BASE_URL = "https://people.googleapis.com/"
EMBEDDED_BASE_URL = "http://embedded.invalid/"
MAX_CONNECTIONS = 100
"""Connections one replica keeps open at most. Requests wait for a free one (never fail for the
lack of one); with one writer per account and the project budget pacing everything, 100
connections carry far more than a project's quota allows."""
IDLE_CONNECTIONS = 16
"""Idle connections kept open for reuse; the pool closes those beyond. httpcore looks at every
idle connection (a system call each, and a count of the pool per idle one) whenever a request
starts or ends, on the event loop: measured at ~40 us of the loop's time per idle connection
per request, 5.7 ms a request with 100 idle (1.4 ms with 16). 16 cover the passes at once
(``--concurrent-passes``) and the polls between them; a burst past that opens connections
again."""


@dataclass
class Replica:
    """What every account of one controller replica shares."""

    target: str
    pacer: Pacer
    transport: httpx.AsyncBaseTransport
    app: Any = None  # embedded: the in-process emulator
    token_request: HttpxTokenRequest | None = None  # google: the token endpoint's client


@asynccontextmanager
async def open_replica(
    target: str = "embedded",
    *,
    pacing: PacingConfig | None = None,
    clock: Clock | None = None,
    app: Any = None,
    max_connections: int = MAX_CONNECTIONS,
) -> AsyncIterator[Replica]:
    """The shared connections of a replica; ``connect(..., replica=...)`` draws on them.

    ``app`` is the embedded target's emulator (built by the caller, who owns its state file).
    """
    pacer = Pacer(pacing, clock=clock)
    transport: httpx.AsyncBaseTransport
    token_request = None
    if target == "embedded":
        if app is None:
            raise ValueError("an embedded replica needs the emulator app")
        transport = httpx.ASGITransport(app=app)
    else:
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=min(max_connections, IDLE_CONNECTIONS),
        )
        # Its TLS context loads the CA bundle: tens of milliseconds, in a worker thread.
        transport = await asyncio.to_thread(httpx.AsyncHTTPTransport, limits=limits)
        if target == "google":
            token_request = HttpxTokenRequest()
    try:
        yield Replica(target, pacer, transport, app=app, token_request=token_request)
    finally:
        await transport.aclose()


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
    replica: Replica | None = None,
) -> AsyncIterator[PeopleClient]:
    """Yield a :class:`PeopleClient` for ``target``; closes its connections on exit.

    ``state`` (embedded only) is the emulator's SQLite file, by default the one in the
    default state directory (:mod:`reconciler.statedir`); ``app`` (embedded only) uses an
    already built emulator app instead of creating one. With ``replica`` the client uses the
    replica's connections and pacer (and target).
    """
    if replica is not None:
        async with _replica_client(
            replica, token=token, subject=subject, credentials=credentials, config=config,
            clock=clock, rng=rng,
        ) as client:  # fmt: skip
            yield client
        return
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


@asynccontextmanager
async def _replica_client(
    replica: Replica,
    *,
    token: str | None,
    subject: str | None,
    credentials: str | Path | None,
    config: ClientConfig | None,
    clock: Clock | None,
    rng: random.Random | None,
) -> AsyncIterator[PeopleClient]:
    """One account's client over the replica's pool: its own auth, nothing of its own to close
    (closing it would close the shared pool)."""
    config = config or ClientConfig()
    http = replica_http(
        replica, token=token, subject=subject, credentials=credentials, timeout=config.timeout
    )
    transport = Transport(
        http,
        account=_account(subject, token if replica.target != "google" else None),
        config=config,
        clock=clock,
        pacer=replica.pacer,
        rng=rng,
    )
    yield PeopleClient(transport)


def replica_http(
    replica: Replica,
    *,
    token: str | None,
    subject: str | None,
    credentials: str | Path | None,
    timeout: float,
    scopes: Sequence[str] = SCOPES,
    google_base_url: str = GOOGLE_BASE_URL,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` over the replica's pool, authorised as ``subject`` (with
    ``scopes``, delegated, on ``google``; by ``token``, else ``user:<subject>``, elsewhere).
    Nothing of its own to close: closing it would close the shared pool."""
    auth: httpx.Auth | None
    if replica.target == "embedded":
        auth, base_url = BearerToken(token or f"user:{subject or 'default'}"), EMBEDDED_BASE_URL
    elif replica.target == "google":
        google_credentials = load_credentials(
            credentials, subject=subject, scopes=scopes, token_request=replica.token_request
        )
        auth = GoogleAuth(google_credentials, token_request=replica.token_request)
        base_url = google_base_url
    else:
        auth, base_url = (BearerToken(token) if token else None), replica.target.rstrip("/") + "/"
    # Waiting for a free connection of the shared pool is not a failure: no pool timeout.
    return httpx.AsyncClient(
        transport=replica.transport,
        base_url=base_url,
        timeout=httpx.Timeout(timeout, pool=None),
        auth=auth,
    )
