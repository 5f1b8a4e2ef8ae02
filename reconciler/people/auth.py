"""Credentials as ``httpx.Auth`` flows: google-auth for Google, a static bearer for emulators.

The Google flow refreshes the access token before it expires (google-auth's own threshold) and
once more when a request still comes back 401, then lets the 401 through. Refreshing is blocking
in google-auth, so the async flow runs it in a worker thread, one refresh at a time.

No token, key or secret is ever put in a log line, an exception message or a ``repr``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import google.auth
import google.auth.credentials
import google.auth.exceptions
import google.auth.iam
import google.auth.transport
import google.oauth2.credentials
import httpx
import structlog
from google.oauth2 import service_account

from reconciler.people.errors import PermissionDenied, Unauthenticated

__all__ = [
    "SCOPES",
    "BearerToken",
    "GoogleAuth",
    "credentials_type",
    "delegate",
    "load_credentials",
]

SCOPES = ("https://www.googleapis.com/auth/contacts",)
IAM_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)  # for the signBlob call
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
log = structlog.get_logger("reconciler.people")


class BearerToken(httpx.Auth):
    """A fixed bearer token (emulator targets: ``user:<email>`` selects the address book)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerToken(<redacted>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class _TokenResponse(google.auth.transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxTokenRequest(google.auth.transport.Request):
    """google-auth's transport interface over a synchronous ``httpx.Client`` (token refresh)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=30.0)

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        try:
            response = self._client.request(
                method, url, content=body, headers=dict(headers or {}), timeout=timeout or 30.0
            )
        except httpx.HTTPError as error:
            raise google.auth.exceptions.TransportError(  # type: ignore[no-untyped-call]  # untyped upstream
                type(error).__name__
            ) from None
        return _TokenResponse(response)


class GoogleAuth(httpx.Auth):
    """Authorises requests with google-auth credentials, refreshing them when needed."""

    def __init__(
        self,
        credentials: google.auth.credentials.Credentials,
        *,
        token_request: google.auth.transport.Request | None = None,
    ) -> None:
        self.credentials = credentials
        self._token_request = token_request or HttpxTokenRequest()
        self._lock = threading.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"GoogleAuth({type(self.credentials).__name__})"

    def _refresh(self, *, force: bool) -> None:
        with self._lock:
            if not force and self.credentials.valid:
                return
            try:
                self.credentials.refresh(self._token_request)  # type: ignore[no-untyped-call]  # untyped upstream
            except google.auth.exceptions.RefreshError as error:
                # RefreshError carries the token endpoint's answer; keep only its class name.
                raise Unauthenticated(
                    f"could not refresh the access token ({type(error).__name__}); check the "
                    "credentials file, its scopes and the delegation subject"
                ) from None
            except google.auth.exceptions.TransportError:
                raise Unauthenticated(
                    "could not reach the token endpoint to refresh the access token"
                ) from None
            self.refreshes += 1
            log.info("people.token_refreshed", credentials=type(self.credentials).__name__)

    def _apply(self, request: httpx.Request) -> None:
        token = self.credentials.token
        request.headers["Authorization"] = f"Bearer {token}"

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        self._refresh(force=False)
        self._apply(request)
        response = yield request
        if response.status_code == 401:
            self._refresh(force=True)
            self._apply(request)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not self.credentials.valid:
            await asyncio.to_thread(self._refresh, force=False)
        self._apply(request)
        response = yield request
        if response.status_code == 401:
            await response.aread()
            await asyncio.to_thread(self._refresh, force=True)
            self._apply(request)
            yield request


def load_credentials(
    credentials_file: str | Path | None = None,
    *,
    subject: str | None = None,
    scopes: Sequence[str] = SCOPES,
    token_request: google.auth.transport.Request | None = None,
) -> google.auth.credentials.Credentials:
    """Application default credentials, or a service-account / authorized-user file.

    With ``subject`` (domain-wide delegation) the service account acts as that user; see
    :func:`delegate`. ``token_request`` carries the calls that delegation without a key makes.
    """
    if credentials_file is None:
        try:
            credentials, _ = google.auth.default(scopes=list(scopes))
        except google.auth.exceptions.DefaultCredentialsError as error:
            raise Unauthenticated(
                f"no application default credentials ({type(error).__name__}); pass "
                "--credentials with a service-account key or an authorized-user file, or run "
                "'gcloud auth application-default login'"
            ) from None
    else:
        credentials = _from_file(Path(credentials_file), scopes)
    if subject:
        credentials = delegate(credentials, subject, scopes=scopes, token_request=token_request)
    return credentials


def delegate(
    credentials: google.auth.credentials.Credentials,
    subject: str,
    *,
    scopes: Sequence[str] = SCOPES,
    token_request: google.auth.transport.Request | None = None,
) -> google.auth.credentials.Credentials:
    """Credentials of a service account acting as ``subject`` (domain-wide delegation).

    A service-account key signs the delegation JWT itself. Without a key, as with workload
    identity on GKE or Cloud Run, the credentials still run as a service account: the JWT is
    then signed by the IAM Credentials API (``signBlob``) on that account's behalf, which needs
    the account to hold ``roles/iam.serviceAccountTokenCreator`` on itself. Credentials that are
    not a service account (a person's own login) cannot delegate and are refused.
    """
    with_subject = getattr(credentials, "with_subject", None)
    if with_subject is not None:
        delegated: google.auth.credentials.Credentials = with_subject(subject)
        return delegated
    email = getattr(credentials, "service_account_email", None)
    if not isinstance(email, str) or not email:
        raise PermissionDenied(
            f"{type(credentials).__name__} cannot act for a subject: domain-wide delegation "
            "needs a service account, either a service-account key (--credentials) or "
            "application default credentials that run as one (workload identity on GKE or "
            "Cloud Run, a Compute Engine service account)"
        )
    if isinstance(credentials, google.auth.credentials.Scoped):
        credentials = credentials.with_scopes(list(IAM_SCOPES))  # type: ignore[no-untyped-call]  # untyped upstream
    request = token_request or HttpxTokenRequest()
    if "@" not in email:  # the metadata server's "default" account: ask it for the address
        email = _service_account_email(credentials, request)
    signer = google.auth.iam.Signer(request, credentials, email)  # type: ignore[no-untyped-call]  # untyped upstream
    keyless: google.auth.credentials.Credentials = service_account.Credentials(  # type: ignore[no-untyped-call]  # untyped upstream
        signer, email, GOOGLE_TOKEN_URI, scopes=list(scopes), subject=subject
    )
    return keyless


def _service_account_email(
    credentials: google.auth.credentials.Credentials, request: google.auth.transport.Request
) -> str:
    """The address of the account ADC runs as, which the metadata server tells on refresh."""
    try:
        credentials.refresh(request)  # type: ignore[no-untyped-call]  # untyped upstream
    except (google.auth.exceptions.RefreshError, google.auth.exceptions.TransportError) as error:
        raise Unauthenticated(
            f"could not learn which service account the credentials run as "
            f"({type(error).__name__}); check the workload identity binding"
        ) from None
    email = getattr(credentials, "service_account_email", None)
    if not isinstance(email, str) or "@" not in email:
        raise Unauthenticated(
            "the metadata server did not name the service account the credentials run as"
        )
    return email


def credentials_type(path: str | Path) -> str | None:
    """The ``type`` a Google credentials file declares (``service_account``,
    ``authorized_user``, ...), or None when it cannot be read as one. Reads nothing else."""
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = info.get("type") if isinstance(info, dict) else None
    return kind if isinstance(kind, str) else None


def _from_file(path: Path, scopes: Sequence[str]) -> google.auth.credentials.Credentials:
    """A service-account key or an authorized-user file, by its ``type``; nothing else."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise Unauthenticated(
            f"{path}: cannot read the credentials file ({type(error).__name__}); check the path "
            "and that it is the JSON file Google issued"
        ) from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        credentials: google.auth.credentials.Credentials
        if kind == "service_account":
            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]  # untyped upstream
                info, scopes=list(scopes)
            )
            return credentials
        if kind == "authorized_user":
            credentials = google.oauth2.credentials.Credentials.from_authorized_user_info(  # type: ignore[no-untyped-call]  # untyped upstream
                info, scopes=list(scopes)
            )
            return credentials
    except (ValueError, KeyError) as error:
        raise Unauthenticated(
            f"{path}: the {kind} credentials are incomplete ({type(error).__name__})"
        ) from None
    raise Unauthenticated(
        f"{path}: unsupported credentials type {str(kind)[:40]!r}; use a service-account key "
        "or an authorized-user file"
    )
