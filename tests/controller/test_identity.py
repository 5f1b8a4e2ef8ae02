"""With an accounts file, each account's identity comes from its own entry and nowhere else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import main


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
    return CliRunner().invoke(main, [*argv, *args], env=env or {})


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
    address book: the controller reads each account's own profile at start, exits 1 and
    writes nothing."""
    from reconciler.controller.accounts import DriftPolicy, load_accounts
    from reconciler.controller.runner import RunSettings, run_controller
    from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
    from reconciler.statedir import StateDir

    emulator = create_app(EmulatorConfig())

    async def alias(scope: dict[str, Any], receive: Any, send: Any) -> None:
        """bob@example.com is an alias of alice@example.com on this server."""
        if scope["type"] == "http":
            headers = [
                (k, v.replace(b"bob@example.com", b"alice@example.com"))
                for k, v in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        await emulator(scope, receive, send)

    config = load_accounts(
        accounts_file(tmp_path), default_owner="o", drift_policy=DriftPolicy.CORRECT
    )
    with BackgroundServer(alias) as server:  # type: ignore[arg-type]
        settings = RunSettings(
            target=server.url,
            state_dir=StateDir.at(tmp_path / "state"),
            health_addr="0",
            metrics_addr="0",
            prune=True,
        )
        assert await run_controller(config, settings) == 1
        async with httpx.AsyncClient(base_url=server.url) as http:
            stats = (await http.get("/__emulator/stats")).json()["by_method"]
    assert set(stats) == {"people.people.get"}, "only the two profile reads, no write"
