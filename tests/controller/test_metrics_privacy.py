"""Metrics and probe bodies carry no personal data, and say which build runs and how fresh
each account is."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import Any

import httpx
from structlog.testing import capture_logs

from reconciler import __version__
from reconciler.controller.account import Intervals
from reconciler.controller.accounts import AccountsError, DriftPolicy, load_accounts
from reconciler.controller.runner import RunSettings, run_controller
from reconciler.statedir import StateDir
from tests.support.eventually import eventually_async
from tests.support.pacing import ROOMY_PACING

CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: friend}\n"
    "spec:\n  names: [{givenName: Friend}]\n"
)


def accounts_file(tmp_path: Path) -> Path:
    for user in ("alice", "bob"):
        (tmp_path / user).mkdir()
        (tmp_path / user / "c.yaml").write_text(CONTACT)
    config = tmp_path / "accounts.yaml"
    config.write_text(
        "accounts:\n"
        "  - {subject: alice@example.com, manifests: alice, alias: sales}\n"
        "  - {subject: Bob@Example.com, manifests: bob}\n"
    )
    return config


def test_an_account_is_labelled_by_its_alias_or_a_stable_hash(tmp_path: Path) -> None:
    """The label is the alias, or acct- and the first 10 hex digits of the SHA-256 of the
    case-folded subject (so an operator can find it from the address)."""
    config = load_accounts(
        accounts_file(tmp_path), default_owner="o", drift_policy=DriftPolicy.CORRECT
    )
    alice, bob = config.accounts
    assert alice.label == "sales"
    digest = hashlib.sha256(b"bob@example.com").hexdigest()[:10]
    assert bob.label == f"acct-{digest}"


def test_aliases_are_checked_where_they_are_written(tmp_path: Path) -> None:
    """A malformed or repeated alias is an error located in the accounts file."""
    config = tmp_path / "accounts.yaml"
    config.write_text(
        "accounts:\n"
        "  - {subject: a@example.com, manifests: a, alias: Sales Team}\n"
        "  - {subject: b@example.com, manifests: b, alias: ops}\n"
        "  - {subject: c@example.com, manifests: c, alias: ops}\n"
    )
    try:
        load_accounts(config, default_owner="o", drift_policy=DriftPolicy.CORRECT)
    except AccountsError as error:
        text = str(error)
    else:
        raise AssertionError("the aliases were accepted")
    assert "accounts.yaml:2:" in text
    assert "an alias is lowercase letters" in text


def two_accounts(tmp_path: Path, emulator_url: str) -> tuple[Any, RunSettings]:
    """The two accounts of :func:`accounts_file` and settings serving probes and metrics."""
    config = load_accounts(
        accounts_file(tmp_path), default_owner="o", drift_policy=DriftPolicy.CORRECT
    )
    settings = RunSettings(
        target=emulator_url,
        state_dir=StateDir.at(tmp_path / "state"),
        intervals=Intervals(poll=0.3, resync=3600, debounce=0.1),
        health_addr="127.0.0.1:0",
        metrics_addr="127.0.0.1:0",
        pacing=ROOMY_PACING,
    )
    return config, settings


async def test_metrics_name_no_mailbox_and_tell_the_build_and_last_success(
    tmp_path: Path, emulator_server: Any
) -> None:
    """After both accounts converge, /metrics has build info, a last-success timestamp per
    account under its label, and no email address anywhere; /readyz neither."""
    config, settings = two_accounts(tmp_path, emulator_server.url)
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = asyncio.create_task(run_controller(config, settings, stop=stop))

        def address(path: str) -> str:
            for event in logs:
                if event["event"] == "serving" and path in event["paths"]:
                    return str(event["address"]) + path
            raise AssertionError("not serving yet")

        async with httpx.AsyncClient(timeout=10) as http:

            async def scraped() -> str:
                text = (await http.get(address("/metrics"))).text
                done = re.findall(
                    r"^reconciler_account_last_success_timestamp_seconds\{", text, re.M
                )
                return text if len(done) == 2 else ""

            text: str = await eventually_async(scraped, "both accounts to succeed once")
            readyz = (await http.get(address("/readyz"))).text
        stop.set()
        assert await asyncio.wait_for(task, 60) == 0
    assert "@" not in text
    assert "@" not in readyz
    bob = config.accounts[1].label
    assert f'reconciler_ready{{account="{bob}"}} 1.0' in text
    assert 'reconciler_ready{account="sales"} 1.0' in text
    stamp = re.search(
        r'^reconciler_account_last_success_timestamp_seconds\{account="sales"\} (\S+)$', text, re.M
    )
    assert stamp is not None
    assert float(stamp.group(1)) > 1.7e9
    assert 'reconciler_build_info{python="' in text
    assert f'version="{__version__}"' in text


async def test_the_revision_applied_follows_successful_full_passes(
    tmp_path: Path, emulator_server: Any
) -> None:
    """reconciler_manifests_revision_applied_info names the manifests revision (here the
    sha256: digest of the tree) that the last successful full pass applied, under the label."""
    config, settings = two_accounts(tmp_path, emulator_server.url)
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = asyncio.create_task(run_controller(config, settings, stop=stop))

        def address() -> str:
            for event in logs:
                if event["event"] == "serving" and "/metrics" in event["paths"]:
                    return str(event["address"]) + "/metrics"
            raise AssertionError("not serving yet")

        async with httpx.AsyncClient(timeout=10) as http:

            async def applied() -> list[str]:
                text = (await http.get(address())).text
                return re.findall(
                    r'^reconciler_manifests_revision_applied_info\{account="sales",'
                    r'revision="([^"]+)"\} 1\.0$',
                    text,
                    re.M,
                )

            revisions = await eventually_async(applied, "a full pass to apply a revision")
        stop.set()
        assert await asyncio.wait_for(task, 60) == 0
    loaded = [e["revision"] for e in logs if e["event"] == "manifests loaded" and e.get("revision")]
    assert revisions[0] in loaded
