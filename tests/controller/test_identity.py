"""With an accounts file, each account's identity comes from its own entry and nowhere else."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from click.testing import CliRunner

from reconciler.cli import main
from tests.support.controller import WRITE_METHOD, run_settings
from tests.support.directory import ADMIN
from tests.support.eventually import LIMIT, eventually_async
from tests.support.manifests import contact_yaml
from tests.support.pacing import roomy


def accounts_file(tmp_path: Path) -> Path:
    for user in ("alice", "bob"):
        (tmp_path / user).mkdir()
        (tmp_path / user / "c.yaml").write_text(
            "apiVersion: reconciler/v1\nkind: Contact\n"
            f"metadata: {{name: {user}-friend}}\nspec:\n  names: [{{givenName: {user}}}]\n"
        )
    config = tmp_path / "accounts.yaml"
    config.write_text(
        "accounts:\n"
        "  - {subject: alice@example.com, manifests: alice}\n"
        "  - {subject: bob@example.com, manifests: bob}\n"
    )
    return config


def start(tmp_path: Path, url: str, *args: str, env: dict[str, str] | None = None) -> Any:
    argv = ["run", "--config", str(accounts_file(tmp_path)), "--target", url, "--prune"]
    argv += ["--health-addr", "0", "--metrics-addr", "0", "--state-dir", str(tmp_path / "state")]
    return CliRunner().invoke(main, roomy([*argv, *args]), env=env or {})


def bob_is_alice(emulator: Any, writers: set[str] | None = None) -> Any:
    """The emulator, where bob@example.com is an alias of alice@example.com's mailbox (the
    People API's calls made as bob reach alice's address book); ``writers`` collects who sent
    each write (``alice`` or ``bob``)."""

    async def alias(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if writers is not None and scope["method"] != "GET":
                token = dict(scope["headers"]).get(b"authorization", b"")
                writers.update(u for u in ("alice", "bob") if u.encode() in token)
            headers = [
                (k, v.replace(b"bob@example.com", b"alice@example.com"))
                for k, v in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await emulator(scope, receive, send)

    return alias


def requests_made(url: str) -> int:
    return int(httpx.get(f"{url}/__emulator/stats").json()["total"])


@pytest.mark.parametrize("how", ["env", "flag"])
def test_a_global_token_with_an_accounts_file_is_refused_before_anything(
    tmp_path: Path, emulator_server: Any, how: str
) -> None:
    """RECONCILER_TOKEN (as the chart sets it from tokenKey) or --token with --config would
    send every account to the token's user: refused at start, exit 1, no API call at all."""
    token = "user:alice@example.com"
    if how == "env":
        result = start(tmp_path, emulator_server.url, env={"RECONCILER_TOKEN": token})
        assert "RECONCILER_TOKEN (--token) would send every account" in result.output
    else:
        result = start(tmp_path, emulator_server.url, "--token", token)
        assert "--token would send every account" in result.output
    assert result.exit_code == 1
    assert requests_made(emulator_server.url) == 0


def test_one_users_login_for_every_account_is_refused(tmp_path: Path, emulator_server: Any) -> None:
    """On the Google target an authorized-user credentials file is one person's login: it
    cannot act as each account's subject, so with --config it is refused before any call."""
    user = tmp_path / "user.json"
    user.write_text(json.dumps({"type": "authorized_user", "client_id": "x"}))
    argv = ["run", "--config", str(accounts_file(tmp_path)), "--target", "google"]
    argv += ["--credentials", str(user), "--health-addr", "0", "--metrics-addr", "0"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 1
    assert "'authorized_user', one user's own login for every account" in result.output
    assert requests_made(emulator_server.url) == 0


async def test_two_entries_that_are_one_address_book_are_refused_at_start(
    tmp_path: Path,
) -> None:
    """Two subjects that the server resolves to one mailbox (an alias) would fight over one
    address book: the controller reads each account's own profile as it opens it, and the
    second of the two stops the start with exit 1 before either has written anything (no
    account starts until every one is open, so a restart that opens them in another order
    cannot write the other's manifests into the book)."""
    from reconciler.controller.accounts import DriftPolicy, load_accounts
    from reconciler.controller.runner import run_controller
    from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app

    config = load_accounts(
        accounts_file(tmp_path), default_owner="o", drift_policy=DriftPolicy.CORRECT
    )
    writers: set[str] = set()
    with BackgroundServer(bob_is_alice(create_app(EmulatorConfig()), writers)) as server:
        settings = run_settings(server.url, tmp_path, prune=True)
        with structlog.testing.capture_logs() as logs:
            assert await run_controller(config, settings) == 1
        async with httpx.AsyncClient(base_url=server.url) as http:
            stats = (await http.get("/__emulator/stats")).json()["by_method"]
            book = (await http.get("/__emulator/dump")).json()["users"]["alice@example.com"]
    assert stats == {"people.people.get": 2}, "only the two profile reads, no write"
    assert writers == set(), f"nothing written, yet {sorted(writers)} wrote"
    assert book["people"] == [], "the address book is as it was"
    assert any(
        e["event"] == "two accounts are one address book; give each mailbox one entry" for e in logs
    )


async def test_a_directory_user_who_is_a_running_accounts_mailbox_is_refused(
    tmp_path: Path,
) -> None:
    """A user who joins a directory selection while the controller runs passes the same check
    as the accounts opened at start: bob, an alias of alice's mailbox, is refused with an error
    naming both, nothing is written for him (alice's address book keeps only her contacts), and
    alice carries on. Once alice leaves the selection, the next refresh starts bob."""
    from reconciler.controller.accounts import DriftPolicy, load_accounts
    from reconciler.controller.runner import run_controller
    from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app

    for user in ("alice", "bob"):
        (tmp_path / "users" / user).mkdir(parents=True)
        (tmp_path / "users" / user / "c.yaml").write_text(contact_yaml(f"{user}-friend", user))
    (tmp_path / "accounts.yaml").write_text(
        "directory:\n"
        "  - {name: sales, admin: admin@example.com, orgUnitPath: /Sales,\n"
        "     manifests: 'users/{user}', refreshInterval: 200ms}\n"
    )
    config = load_accounts(
        tmp_path / "accounts.yaml", default_owner="o", drift_policy=DriftPolicy.CORRECT
    )
    with BackgroundServer(bob_is_alice(create_app(EmulatorConfig()))) as server:
        settings = run_settings(server.url, tmp_path, prune=True)
        async with httpx.AsyncClient(base_url=server.url) as http:

            async def seed(email: str, unit: str, **fields: Any) -> None:
                body = {"orgUnitPath": unit, **fields}
                answer = await http.put(f"/__emulator/directory/users/{email}", json=body)
                answer.raise_for_status()

            async def alices_names() -> list[str]:
                users = (await http.get("/__emulator/dump")).json()["users"]
                book = users.get("alice@example.com", {"people": []})
                return sorted(p["names"][0]["givenName"] for p in book["people"])

            async def writes() -> int:
                stats = (await http.get("/__emulator/stats")).json()["by_method"]
                return sum(n for method, n in stats.items() if WRITE_METHOD.search(method))

            await seed(ADMIN, "/IT", isAdmin=True)
            await seed("alice@example.com", "/Sales")
            stop = asyncio.Event()
            with structlog.testing.capture_logs() as logs:
                task = asyncio.create_task(run_controller(config, settings, stop=stop))

                async def alice_converged() -> bool:
                    return await alices_names() == ["alice"]

                await eventually_async(alice_converged, "alice's account to converge")

                def idle() -> bool:  # alice has given her write lease back
                    return any(e["event"] == "lease.released" for e in logs)

                await eventually_async(idle, "alice's account to go idle")
                written = await writes()
                await seed("bob@example.com", "/Sales")

                def bobs_fate() -> Any:
                    return next(
                        (
                            e
                            for e in logs
                            if e.get("account") == "bob@example.com"
                            and e["event"]
                            in (
                                "account started",
                                "could not start an account; the next "
                                "directory refresh tries again",
                            )
                        ),
                        None,
                    )

                fate = await eventually_async(bobs_fate, "bob's account to start or be refused")
                assert fate["event"].startswith("could not start an account"), fate
                assert "alice@example.com" in fate["error"]
                assert "one entry" in fate["error"]
                assert any(
                    e["event"] == "two accounts are one address book; give each mailbox one entry"
                    and e["accounts"] == ["alice@example.com", "bob@example.com"]
                    for e in logs
                )
                assert await alices_names() == ["alice"]
                assert await writes() == written, "nothing written for bob"
                assert not task.done()

                await seed("alice@example.com", "/Support")  # alice leaves; bob may start

                def bob_started() -> bool:
                    return any(
                        e["event"] == "account started" and e.get("account") == "bob@example.com"
                        for e in logs
                    )

                await eventually_async(bob_started, "bob to start once alice has left")

                async def bob_converged() -> bool:
                    return "bob" in await alices_names()

                await eventually_async(bob_converged, "bob's contacts in the mailbox")
                stop.set()
                assert await asyncio.wait_for(task, LIMIT) == 0


class Profile:
    """A client whose profile names ``book``; it answers only once ``answer`` is set."""

    def __init__(self, account: str, book: str, answer: asyncio.Event) -> None:
        self.account, self.book, self.answer, self.reads = account, book, answer, 0

    async def address_book(self) -> str:
        self.reads += 1
        await self.answer.wait()
        return self.book


async def test_two_aliases_joining_at_once_admit_one_and_profiles_are_read_once() -> None:
    """Two joiners that are one mailbox, admitted side by side: exactly one is admitted. A lone
    account's profile is not read until a second account comes to compare; then each running
    account's profile is read once, and a stopped account's address book is free again."""
    from reconciler.controller.addressbooks import AddressBooks

    answer = asyncio.Event()
    alice = Profile("alice", "people/1", answer)
    bob = Profile("bob", "people/1", answer)
    carol = Profile("carol", "people/2", answer)
    books = AddressBooks()
    assert await books.admit([("carol", carol)]) == []  # type: ignore[list-item]
    assert carol.reads == 0
    joining = [
        asyncio.create_task(books.admit([(key, client)]))  # type: ignore[list-item]
        for key, client in (("alice", alice), ("bob", bob))
    ]
    await eventually_async(lambda: alice.reads and bob.reads, "both profiles to be asked")
    answer.set()
    refused = [r for task in joining for r in await task]
    assert [(r.account, r.holder) for r in refused] in ([("bob", "alice")], [("alice", "bob")])
    assert (alice.reads, bob.reads, carol.reads) == (1, 1, 1)
    winner = refused[0].holder
    books.forget(winner)
    assert await books.admit([(refused[0].account, bob if winner == "alice" else alice)]) == []  # type: ignore[list-item]
    assert carol.reads == 1
