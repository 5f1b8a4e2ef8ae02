"""The Directory client: who a selection names, every page, as an admin by delegation.

Against the in-process emulator on the manual clock of the client tests (retries and backoff
pass in no real time), and, for Google, the credentials it builds without any network call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import google.auth
import googleapiclient
import pytest
from google.auth import compute_engine, iam
from google.oauth2 import service_account
from starlette.applications import Starlette

from reconciler.clock import ManualClock
from reconciler.people.auth import GoogleAuth
from reconciler.people.directory import (
    DIRECTORY_SCOPES,
    DirectoryClient,
    open_directory,
    org_unit_clause,
)
from reconciler.people.errors import NotFound, PermissionDenied, ServerError
from reconciler.people.targets import open_replica

ADMIN = "admin@example.com"


@pytest.fixture
async def directory(app: Starlette, clock: ManualClock) -> AsyncIterator[DirectoryClient]:
    async with open_replica("embedded", app=app, clock=clock) as replica:
        yield open_directory(replica, admin=ADMIN, clock=clock)


def seed(app: Starlette, users: dict[str, dict[str, Any]], groups: dict[str, list[str]]) -> None:
    from reconciler.emulator.directory import DirectoryGroup, DirectoryUser

    seeded = app.state.emulator.directory
    seeded.users[ADMIN] = DirectoryUser(ADMIN, "/IT", is_admin=True)
    for email, fields in users.items():
        seeded.users[email] = DirectoryUser(email, **fields)
    for email, members in groups.items():
        seeded.groups[email] = DirectoryGroup(email, dict.fromkeys(members, "MEMBER"))


async def test_a_unit_selects_its_active_users_and_those_below(
    app: Starlette, directory: DirectoryClient
) -> None:
    """Suspended and archived users are left out, read from each user's own fields."""
    seed(
        app,
        {
            "ann@example.com": {"org_unit_path": "/Sales"},
            "ben@example.com": {"org_unit_path": "/Sales/East"},
            "cat@example.com": {"org_unit_path": "/Sales", "suspended": True},
            "dan@example.com": {"org_unit_path": "/Sales", "archived": True},
            "eve@example.com": {"org_unit_path": "/Support"},
        },
        {},
    )
    assert await directory.select(org_unit_path="/Sales") == ["ann@example.com", "ben@example.com"]
    every = await directory.select(org_unit_path="/")
    assert every == [ADMIN, "ann@example.com", "ben@example.com", "eve@example.com"]
    assert await directory.select(query="email:ev*") == ["eve@example.com"]


async def test_a_unit_name_with_spaces_or_quotes_is_quoted() -> None:
    """The clause Google documents: single quotes around the value, a quote escaped."""
    assert org_unit_clause("/Sales Team") == "orgUnitPath='/Sales Team'"
    assert org_unit_clause("/Joe's") == "orgUnitPath='/Joe\\'s'"


async def test_a_group_selects_its_user_members_who_are_active_users_of_the_customer(
    app: Starlette, directory: DirectoryClient
) -> None:
    """Nested groups count with ``nested``; external addresses, nested group entries and
    suspended members do not."""
    seed(
        app,
        {
            "ann@example.com": {},
            "ben@example.com": {},
            "cat@example.com": {"suspended": True},
        },
        {
            "eng@example.com": ["ann@example.com", "oncall@example.com", "x@elsewhere.org"],
            "oncall@example.com": ["ben@example.com", "cat@example.com"],
        },
    )
    assert await directory.select(group="eng@example.com") == ["ann@example.com"]
    nested = await directory.select(group="eng@example.com", nested=True)
    assert nested == ["ann@example.com", "ben@example.com"]
    with pytest.raises(NotFound):
        await directory.select(group="nope@example.com")


async def test_every_page_is_read(app: Starlette, directory: DirectoryClient) -> None:
    """More users than one page (500) and more members than one page (200): all of them, in
    as many requests as pages."""
    users = {f"u{n:04}@example.com": {"org_unit_path": "/Big"} for n in range(1201)}
    seed(app, users, {"big@example.com": sorted(users)})
    selected = await directory.select(org_unit_path="/Big", group="big@example.com")
    assert selected == sorted(users)
    stats = app.state.emulator.stats.by_method
    assert stats["directory.users.list"] == 3
    assert stats["directory.members.list"] == 7


async def test_server_errors_are_retried_then_raised(
    app: Starlette, directory: DirectoryClient
) -> None:
    """A failing Directory is tried a few times, then the error goes to the caller (which keeps
    its last good list); a user who is not an admin is refused outright."""
    seed(app, {"ann@example.com": {"org_unit_path": "/S"}}, {})
    app.state.emulator.configure({"directory_error_rate": 1.0})
    with pytest.raises(ServerError):
        await directory.select(org_unit_path="/S")
    assert app.state.emulator.stats.by_method["directory.users.list"] == 3
    app.state.emulator.configure({"directory_error_rate": 0.0})
    app.state.emulator.directory.users[ADMIN].is_admin = False
    with pytest.raises(PermissionDenied):
        await directory.select(org_unit_path="/S")


async def test_on_google_the_admin_is_the_delegation_subject_with_read_only_scopes(
    tmp_path: Path,
) -> None:
    """With a service-account key: admin.googleapis.com, acting as the admin, asking only the
    Directory's read-only scopes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "k",
                "private_key": pem,
                "client_email": "robot@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.test/token",
            }
        )
    )
    async with open_replica("google") as replica:
        client = open_directory(replica, admin=ADMIN, credentials=path)
        http = client.transport.http
        assert str(http.base_url) == "https://admin.googleapis.com/"
        assert isinstance(http.auth, GoogleAuth)
        credentials = http.auth.credentials
        assert getattr(credentials, "_subject", None) == ADMIN
        assert tuple(getattr(credentials, "_scopes", ())) == DIRECTORY_SCOPES


async def test_on_google_without_a_key_the_admin_is_delegated_through_iam(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Workload identity (no key): the same keyless delegation as People accounts, with the
    Directory's scopes."""
    ambient = compute_engine.Credentials(service_account_email="robot@p.iam.gserviceaccount.com")
    monkeypatch.setattr(google.auth, "default", lambda scopes=None: (ambient, "p"))
    async with open_replica("google") as replica:
        client = open_directory(replica, admin=ADMIN)
        auth = client.transport.http.auth
        assert isinstance(auth, GoogleAuth)
        delegated = auth.credentials
        assert isinstance(delegated, service_account.Credentials)
        assert isinstance(delegated.signer, iam.Signer)
        assert getattr(delegated, "_subject", None) == ADMIN
        assert tuple(getattr(delegated, "_scopes", ())) == DIRECTORY_SCOPES


def test_the_scopes_are_the_read_only_ones_google_lists_for_these_methods() -> None:
    """Both scopes are among those the discovery document accepts for users.list and
    members.list, and neither can write."""
    document = json.loads(
        (
            Path(googleapiclient.__file__).parent
            / "discovery_cache/documents/admin.directory_v1.json"
        ).read_text()
    )
    users = document["resources"]["users"]["methods"]["list"]["scopes"]
    members = document["resources"]["members"]["methods"]["list"]["scopes"]
    user_scope, member_scope = DIRECTORY_SCOPES
    assert user_scope in users
    assert member_scope in members
    assert all(scope.endswith(".readonly") for scope in DIRECTORY_SCOPES)
