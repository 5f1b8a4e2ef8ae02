"""connect(): embedded with state on disk, http targets with a token, and no credential leaks."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from starlette.applications import Starlette

import reconciler.people
from reconciler.emulator import BackgroundServer
from reconciler.people import connect
from reconciler.people.errors import PeopleError, StaleEtag, Unauthenticated
from reconciler.people.retry import RetryPolicy
from reconciler.people.transport import ClientConfig
from tests.people.conftest import ClientFactory, person

SECRET = "tok-Sup3rS3cret"


def test_the_package_is_import_light_and_its_names_resolve() -> None:
    """Importing reconciler.people loads neither httpx nor google-auth; __all__ is honest."""
    code = (
        "import sys, reconciler.people; "
        "print(sorted(m for m in ('httpx', 'google.auth') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for name in reconciler.people.__all__:
        assert getattr(reconciler.people, name) is not None


def test_connect_stays_the_function_after_every_submodule_is_imported() -> None:
    """No submodule shares the name ``connect``, so loading them all cannot shadow the function."""
    for module in pkgutil.iter_modules(reconciler.people.__path__):
        importlib.import_module(f"reconciler.people.{module.name}")
    assert inspect.isfunction(reconciler.people.connect)
    assert reconciler.people.connect is connect


async def test_embedded_state_persists_in_its_file(tmp_path: Path) -> None:
    """The embedded target creates the state directory and keeps contacts across runs."""
    state = tmp_path / "nested" / "dir" / "state.sqlite3"
    async with connect("embedded", state=state, subject="alice@example.com") as client:
        await client.batch_create([person(1), person(2)], "names")
    assert state.exists()
    async with connect("embedded", state=state, subject="alice@example.com") as client:
        assert len((await client.list_people("names")).people) == 2
        assert client.account == "alice@example.com"
    async with connect("embedded", state=state, subject="bob@example.com") as client:
        assert (await client.list_people("names")).people == []


async def test_http_target_needs_its_token(emulator_server: BackgroundServer) -> None:
    """Over HTTP the token picks the user; without one every call is Unauthenticated."""
    async with connect(emulator_server.url, token="user:carol@example.com") as client:
        await client.create_contact(person(1))
        assert len((await client.list_people("names")).people) == 1
    async with connect(emulator_server.url) as anonymous:
        with pytest.raises(Unauthenticated):
            await anonymous.list_people("names")


async def test_unknown_targets_are_refused() -> None:
    """A target that is neither embedded, google nor a URL is named in the error."""
    with pytest.raises(ValueError, match="ftp://x"):
        async with connect("ftp://x"):
            pass


async def test_no_credential_in_logs_errors_or_reprs(
    make_client: ClientFactory, app: Starlette
) -> None:
    """A run with retries, throttling and failures logs and raises without ever showing the
    token: not in log events, exception messages, reprs or the client's stats."""
    app.state.emulator.configure({"error_rate": 0.5, "seed": 1, "read_quota_per_minute": 5})
    client = make_client(
        token=SECRET, config=ClientConfig(retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    )
    texts: list[str] = []
    with structlog.testing.capture_logs() as logs:
        for _ in range(8):
            try:
                await client.list_people("names")
            except PeopleError as error:
                texts += [str(error), repr(error), repr(error.__cause__)]
        app.state.emulator.configure({"error_rate": 0.0})
        created = await client.create_contact(person(1))
        stale = {"resourceName": created["resourceName"], "etag": "%EgYBAgMuNz0aBAECBQc="}
        with pytest.raises(StaleEtag) as rejected:
            await client.update_contact(stale, "names")
        texts += [str(rejected.value), repr(rejected.value)]
    assert logs, "expected the run to log retries and errors"
    texts += [json.dumps(entry, default=str) for entry in logs]
    texts += [repr(client), repr(client.transport.http.auth), json.dumps(client.stats.as_dict())]
    assert all(SECRET not in text for text in texts)
    assert all("Authorization" not in text for text in texts)


async def test_accounts_of_a_replica_share_one_pool_and_one_pacer() -> None:
    """Clients opened on one replica each act as their own user, draw on the replica's pacer,
    and closing one leaves the shared connections working for the others."""
    from reconciler.emulator import EmulatorConfig, create_app
    from reconciler.people.targets import open_replica

    with BackgroundServer(create_app(EmulatorConfig())) as server:
        async with open_replica(server.url) as replica:
            async with (
                connect(server.url, token="user:alice@example.com", replica=replica) as alice,
                connect(server.url, token="user:bob@example.com", replica=replica) as bob,
            ):
                await alice.create_contact(person(1), "names")
                assert alice.transport.pacer is replica.pacer is bob.transport.pacer
                assert alice.account == "alice@example.com"
            async with connect(server.url, token="user:bob@example.com", replica=replica) as bob:
                await bob.create_contact(person(2), "names")
                listing = await bob.list_people(["names"])
        users = server.app.state.emulator.books
    assert [p["names"][0]["givenName"] for p in listing.people] == ["Person2"]
    assert sorted(users) == ["alice@example.com", "bob@example.com"]
