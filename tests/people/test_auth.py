"""Auth: google-auth credentials as an httpx flow; refresh before use and once on 401; no leaks.

Google's token endpoint and a Google-like API that rejects an expired token are stood in for by
``httpx.MockTransport`` handlers: they are Google's behaviour, not our emulator's.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import compute_engine, iam
from google.oauth2 import service_account

from reconciler.people import connect
from reconciler.people.auth import (
    BearerToken,
    GoogleAuth,
    HttpxTokenRequest,
    delegate,
    load_credentials,
)
from reconciler.people.errors import PermissionDenied, Unauthenticated

TOKEN_URI = "https://oauth2.test/token"
SECRET_MARK = "SeCrEt"


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def service_account_file(tmp_path: Path, private_key_pem: str) -> Path:
    path = tmp_path / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": f"kid-{SECRET_MARK}",
                "private_key": private_key_pem,
                "client_email": "robot@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": TOKEN_URI,
            }
        )
    )
    return path


@pytest.fixture
def authorized_user_file(tmp_path: Path) -> Path:
    path = tmp_path / "user.json"
    path.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "cid",
                "client_secret": f"cs-{SECRET_MARK}",
                "refresh_token": f"rt-{SECRET_MARK}",
                "token_uri": TOKEN_URI,
            }
        )
    )
    return path


class TokenServer:
    """Issues ya29.<SECRET>-<n> tokens; records the form posted each time."""

    def __init__(self, fail: bool = False) -> None:
        self.forms: list[dict[str, str]] = []
        self.fail = fail

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        self.forms.append(form)
        if self.fail:
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": f"bad {SECRET_MARK}"}
            )
        token = f"ya29.{SECRET_MARK}-{len(self.forms)}"
        return httpx.Response(200, json={"access_token": token, "expires_in": 3600})

    def request(self) -> HttpxTokenRequest:
        return HttpxTokenRequest(httpx.Client(transport=httpx.MockTransport(self)))


def jwt_claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def api_rejecting(first_token_count: int) -> tuple[httpx.MockTransport, list[str]]:
    """An API that answers 401 to the first ``first_token_count`` tokens it sees."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "")
        seen.append(token)
        if len(set(seen)) <= first_token_count:
            return httpx.Response(401, json={"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handle), seen


async def test_service_account_acts_for_the_subject(service_account_file: Path) -> None:
    """Domain-wide delegation: the token request asserts the subject; the token is sent."""
    server = TokenServer()
    credentials = load_credentials(service_account_file, subject="alice@example.com")
    auth = GoogleAuth(credentials, token_request=server.request())
    transport, seen = api_rejecting(0)
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:
        assert (await http.get("https://api.test/v1/x")).status_code == 200
        assert (await http.get("https://api.test/v1/y")).status_code == 200
    claims = jwt_claims(server.forms[0]["assertion"])
    assert claims["sub"] == "alice@example.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/contacts"
    assert seen == [f"Bearer ya29.{SECRET_MARK}-1"] * 2
    assert auth.refreshes == 1


async def test_a_401_refreshes_once_then_gives_up(authorized_user_file: Path) -> None:
    """A rejected token is refreshed and the request replayed once; a second 401 stands."""
    server = TokenServer()
    auth = GoogleAuth(load_credentials(authorized_user_file), token_request=server.request())
    transport, seen = api_rejecting(1)
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:
        assert (await http.get("https://api.test/v1/x")).status_code == 200
    assert server.forms[0]["grant_type"] == "refresh_token"
    assert len(seen) == 2
    assert seen[0] != seen[1]

    transport, seen = api_rejecting(10)
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:
        assert (await http.get("https://api.test/v1/x")).status_code == 401
    assert len(seen) == 2


def test_the_sync_flow_refreshes_too(authorized_user_file: Path) -> None:
    """The same flow works for a synchronous httpx client."""
    server = TokenServer()
    auth = GoogleAuth(load_credentials(authorized_user_file), token_request=server.request())
    transport, _seen = api_rejecting(1)
    with httpx.Client(transport=transport, auth=auth) as http:
        assert http.get("https://api.test/v1/x").status_code == 200
    assert auth.refreshes == 2


def test_application_default_credentials(
    service_account_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no file, ADC is used (here through GOOGLE_APPLICATION_CREDENTIALS)."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(service_account_file))
    credentials = load_credentials(None, subject="bob@example.com")
    assert getattr(credentials, "_subject", None) == "bob@example.com"


async def test_no_secret_in_logs_errors_or_reprs(
    authorized_user_file: Path, service_account_file: Path, tmp_path: Path
) -> None:
    """Refresh failures, bad files and every log line name the problem, never a secret."""
    texts: list[str] = []
    with structlog.testing.capture_logs() as logs:
        ok = GoogleAuth(
            load_credentials(authorized_user_file), token_request=TokenServer().request()
        )
        transport, _ = api_rejecting(1)
        async with httpx.AsyncClient(transport=transport, auth=ok) as http:
            await http.get("https://api.test/v1/x")
        texts += [repr(ok), repr(BearerToken(f"user:{SECRET_MARK}"))]

        failing = GoogleAuth(
            load_credentials(authorized_user_file), token_request=TokenServer(fail=True).request()
        )
        async with httpx.AsyncClient(transport=transport, auth=failing) as http:
            with pytest.raises(Unauthenticated) as refused:
                await http.get("https://api.test/v1/x")
        texts += [str(refused.value), repr(refused.value)]
        assert refused.value.__cause__ is None

        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"type": "mystery", "secret": SECRET_MARK}))
        with pytest.raises(Unauthenticated, match=r"bad\.json") as unreadable:
            load_credentials(bad)
        texts.append(str(unreadable.value))
        with pytest.raises(PermissionDenied, match="delegation") as no_subject:
            load_credentials(authorized_user_file, subject="x@example.com")
        texts.append(str(no_subject.value))
    assert any(entry["event"] == "people.token_refreshed" for entry in logs)
    texts += [json.dumps(entry, default=str) for entry in logs]
    assert all(SECRET_MARK not in text for text in texts), texts


async def test_a_token_about_to_expire_is_refreshed_before_use(authorized_user_file: Path) -> None:
    """A token within google-auth's refresh margin of its expiry is replaced before sending."""
    server = TokenServer()
    auth = GoogleAuth(load_credentials(authorized_user_file), token_request=server.request())
    transport, seen = api_rejecting(0)
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:
        await http.get("https://api.test/v1/x")
        auth.credentials.expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=30)
        await http.get("https://api.test/v1/x")
    assert auth.refreshes == 2
    assert seen[0] != seen[1]


async def test_the_google_target_uses_google_auth(
    service_account_file: Path,
) -> None:
    """connect('google') talks to people.googleapis.com with the delegated service account."""
    async with connect(
        "google", credentials=service_account_file, subject="dana@example.com"
    ) as client:
        http = client.transport.http
        assert str(http.base_url) == "https://people.googleapis.com/"
        assert isinstance(http.auth, GoogleAuth)
        assert getattr(http.auth.credentials, "_subject", None) == "dana@example.com"
        assert client.account == "dana@example.com"


class KeylessGoogle:
    """Google's side of delegation without a key, for credentials that run as a service account
    (workload identity): the metadata server, the IAM signBlob API and the token endpoint."""

    def __init__(self) -> None:
        self.metadata_scopes: list[str] = []
        self.signed: list[tuple[str, str]] = []  # (signBlob URL, its Authorization header)
        self.assertions: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if request.url.host == "metadata.google.internal":
            flavor = {"metadata-flavor": "Google"}
            if request.url.path.endswith("/token"):
                self.metadata_scopes.append(request.url.params.get("scopes", ""))
                body = {"access_token": f"mds-{SECRET_MARK}", "expires_in": 3600}
                return httpx.Response(200, json=body, headers=flavor)
            info = {"email": "robot@p.iam.gserviceaccount.com", "scopes": ["x"]}
            return httpx.Response(200, json=info, headers=flavor)
        if url.endswith(":signBlob"):
            self.signed.append((url, request.headers.get("authorization", "")))
            signature = base64.b64encode(b"signature").decode()
            return httpx.Response(200, json={"keyId": "k", "signedBlob": signature})
        if url == "https://oauth2.googleapis.com/token":
            form = dict(httpx.QueryParams(request.content.decode()))
            self.assertions.append(form["assertion"])
            return httpx.Response(200, json={"access_token": "ya29.dwd", "expires_in": 3600})
        return httpx.Response(404)

    def request(self) -> HttpxTokenRequest:
        return HttpxTokenRequest(httpx.Client(transport=httpx.MockTransport(self)))


def test_keyless_delegation_is_built_without_a_network_call() -> None:
    """A service account without a key (workload identity) delegates through the IAM signer:
    building the credentials asks nothing of the network when the account's address is known."""
    server = KeylessGoogle()
    ambient = compute_engine.Credentials(service_account_email="robot@p.iam.gserviceaccount.com")
    delegated = delegate(ambient, "alice@example.com", token_request=server.request())
    assert isinstance(delegated, service_account.Credentials)
    assert delegated.service_account_email == "robot@p.iam.gserviceaccount.com"
    assert getattr(delegated, "_subject", None) == "alice@example.com"
    assert isinstance(delegated.signer, iam.Signer)
    assert not delegated.valid
    assert (server.metadata_scopes, server.signed, server.assertions) == ([], [], [])


async def test_keyless_delegation_signs_through_iam_and_acts_for_the_subject() -> None:
    """ADC's "default" account is named by the metadata server; the JWT for the subject is
    signed by signBlob with the ambient token, then exchanged for the subject's access token."""
    server = KeylessGoogle()
    token_request = server.request()
    # a fixed universe: google-auth would otherwise ask the metadata server over its own socket
    ambient = compute_engine.Credentials(universe_domain="googleapis.com")
    delegated = delegate(ambient, "alice@example.com", token_request=token_request)
    auth = GoogleAuth(delegated, token_request=token_request)
    transport, seen = api_rejecting(0)
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:
        assert (await http.get("https://api.test/v1/x")).status_code == 200
    [(url, authorization)] = server.signed
    assert "robot@p.iam.gserviceaccount.com:signBlob" in url
    assert authorization == f"Bearer mds-{SECRET_MARK}"
    assert "https://www.googleapis.com/auth/cloud-platform" in server.metadata_scopes
    claims = jwt_claims(server.assertions[0])
    assert (claims["iss"], claims["sub"]) == (
        "robot@p.iam.gserviceaccount.com",
        "alice@example.com",
    )
    assert claims["scope"] == "https://www.googleapis.com/auth/contacts"
    assert seen == ["Bearer ya29.dwd"]


def test_a_personal_login_cannot_delegate(authorized_user_file: Path) -> None:
    """Only a service account can act for a subject; the refusal says which credentials do."""
    with pytest.raises(PermissionDenied, match="workload identity"):
        load_credentials(authorized_user_file, subject="x@example.com")
