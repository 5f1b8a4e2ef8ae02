"""The controller process in-process: several accounts in parallel, sharding, and the CLI's
argument handling."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import structlog
from click.testing import CliRunner

from reconciler.apply.journal import CreateJournal
from reconciler.apply.lease import Lease
from reconciler.apply.lease_record import LeaseRecord, find_lease_group
from reconciler.cli import main
from reconciler.cli.run import DURATION
from reconciler.clock import ManualClock
from reconciler.controller.account import Intervals
from reconciler.controller.accounts import DriftPolicy, load_accounts, single_account
from reconciler.controller.runner import RunSettings, run_controller
from reconciler.controller.sharding import Shard, shard_of
from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app
from reconciler.people import connect
from reconciler.statedir import StateDir
from tests.support.eventually import LIMIT, eventually_async
from tests.support.manifests import contact_yaml
from tests.support.pacing import ROOMY_PACING


def two_accounts(tmp_path: Path) -> Path:
    for user in ("alice", "bob"):
        folder = tmp_path / user
        folder.mkdir()
        (folder / "c.yaml").write_text(contact_yaml(f"{user}-friend", user.title()))
    config = tmp_path / "accounts.yaml"
    config.write_text(
        "accounts:\n"
        "  - {subject: alice@example.com, manifests: alice}\n"
        "  - {subject: bob@example.com, manifests: bob, owner: bobs-repo}\n"
    )
    return config


def settings(url: str, tmp_path: Path, **overrides: Any) -> RunSettings:
    values: dict[str, Any] = {
        "target": url,
        "state_dir": StateDir.at(tmp_path / "state"),
        "intervals": Intervals(poll=0.3, resync=3600, debounce=0.2),
        "health_addr": "0",
        "metrics_addr": "0",
        "pacing": ROOMY_PACING,
        **overrides,
    }
    return RunSettings(**values)


async def names_by_user(http: httpx.AsyncClient) -> dict[str, list[str]]:
    users = (await http.get("/__emulator/dump")).json()["users"]
    return {
        user: sorted(p["names"][0]["givenName"] for p in book["people"])
        for user, book in users.items()
    }


async def test_accounts_are_reconciled_in_parallel_each_as_its_own_user(
    tmp_path: Path, emulator_server: Any
) -> None:
    """Each account of the file converges in its own address book, under its own owner."""
    config = load_accounts(
        two_accounts(tmp_path), default_owner="ops", drift_policy=DriftPolicy.CORRECT
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_controller(config, settings(emulator_server.url, tmp_path), stop=stop)
    )
    async with httpx.AsyncClient(base_url=emulator_server.url) as http:

        async def both() -> bool:
            return await names_by_user(http) == {
                "alice@example.com": ["Alice"],
                "bob@example.com": ["Bob"],
            }

        await eventually_async(both, "both accounts to converge")
        dump = (await http.get("/__emulator/dump")).json()["users"]
        owners = {
            user: {
                e["value"]
                for e in book["people"][0]["clientData"]
                if e["key"] == "reconciler.owner"
            }
            for user, book in dump.items()
        }
        assert owners == {"alice@example.com": {"ops"}, "bob@example.com": {"bobs-repo"}}
    stop.set()
    assert await asyncio.wait_for(task, LIMIT) == 0


async def test_a_shard_reconciles_only_the_accounts_it_owns(
    tmp_path: Path, emulator_server: Any
) -> None:
    """With --shard I/N the controller touches only the accounts hashing to shard I."""
    config = load_accounts(
        two_accounts(tmp_path), default_owner="ops", drift_policy=DriftPolicy.CORRECT
    )
    alice = shard_of("alice@example.com", 2)
    bob = shard_of("bob@example.com", 2)
    shard = Shard(alice, 2)
    stop = asyncio.Event()
    run = run_controller(config, settings(emulator_server.url, tmp_path, shard=shard), stop=stop)
    task = asyncio.create_task(run)
    async with httpx.AsyncClient(base_url=emulator_server.url) as http:

        async def alice_done() -> bool:
            return (await names_by_user(http)).get("alice@example.com") == ["Alice"]

        await eventually_async(alice_done, "alice's account to converge")
        if bob != alice:
            assert "bob@example.com" not in await names_by_user(http)
    stop.set()
    assert await asyncio.wait_for(task, LIMIT) == 0


def test_durations_read_like_kubernetes_flags() -> None:
    """500ms, 30s, 10m, 1h and bare seconds are accepted; nonsense is refused."""
    assert DURATION.convert("500ms", None, None) == 0.5
    assert DURATION.convert("30s", None, None) == 30.0
    assert DURATION.convert("10m", None, None) == 600.0
    assert DURATION.convert("1h", None, None) == 3600.0
    assert DURATION.convert("2", None, None) == 2.0
    result = CliRunner().invoke(main, ["run", "--poll-interval", "soon"])
    assert result.exit_code == 2
    assert "is not a duration" in result.output


def test_a_bad_accounts_file_stops_the_start_with_its_location(tmp_path: Path) -> None:
    """`reconciler run --config` with a mistake exits 1 naming file:line:col."""
    config = tmp_path / "accounts.yaml"
    config.write_text("accounts:\n  - {subject: alice@example.com, manifests: m, drift: x}\n")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--metrics-addr", "0"])
    assert result.exit_code == 1
    assert f"{config}:2:" in result.output


def test_conflicting_or_malformed_flags_are_usage_errors(tmp_path: Path) -> None:
    """PATHS with --config, a bad address or a bad shard are refused before anything starts."""
    config = tmp_path / "a.yaml"
    config.write_text("accounts: []\n")
    runner = CliRunner()
    both = runner.invoke(main, ["run", "m", "--config", str(config)])
    assert both.exit_code == 2
    assert "not both" in both.output
    address = runner.invoke(main, ["run", "--health-addr", "localhost"])
    assert address.exit_code == 2
    assert "[HOST]:PORT" in address.output
    shard = runner.invoke(main, ["run", "--shard", "3/2"])
    assert shard.exit_code == 2
    assert "--shard" in shard.output


async def test_an_account_locked_by_another_writer_stops_the_start(
    tmp_path: Path, emulator_server: Any
) -> None:
    """While `reconciler apply` holds an account's journal, the controller refuses to become a
    second writer and exits 1."""
    config = single_account([tmp_path], owner="ops", drift_policy=DriftPolicy.CORRECT)
    run = settings(emulator_server.url, tmp_path, token="user:alice@example.com")
    path = run.state_dir.journal(target=run.target, account="alice@example.com", owner="ops")
    with CreateJournal(path):
        assert await asyncio.wait_for(run_controller(config, run), LIMIT) == 1


async def test_an_address_in_use_stops_the_start(tmp_path: Path, emulator_server: Any) -> None:
    """A probe address that cannot be bound is an error exit, not a traceback."""
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    config = single_account([tmp_path], owner="ops", drift_policy=DriftPolicy.CORRECT)
    run = settings(emulator_server.url, tmp_path, health_addr=f"127.0.0.1:{port}")
    try:
        assert await asyncio.wait_for(run_controller(config, run), LIMIT) == 1
    finally:
        blocker.close()
        await blocker.wait_closed()


async def test_default_region_reads_national_phone_numbers(
    tmp_path: Path, emulator_server: Any
) -> None:
    """`run --default-region GB` loads a UK number written without +44 and converges it (under
    the US default the manifest would not load and nothing would be written)."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "ann.yaml").write_text(
        contact_yaml("ann", "Ann") + '  phoneNumbers: ["020 7946 0018"]\n'
    )
    config = single_account(
        [folder], owner="ops", drift_policy=DriftPolicy.CORRECT, subject="gb@example.com"
    )
    stop = asyncio.Event()
    run = settings(emulator_server.url, tmp_path, default_region="GB")
    task = asyncio.create_task(run_controller(config, run, stop=stop))
    async with httpx.AsyncClient(base_url=emulator_server.url) as http:

        async def converged() -> bool:
            return (await names_by_user(http)).get("gb@example.com") == ["Ann"]

        await eventually_async(converged, "the account to converge")
    stop.set()
    assert await asyncio.wait_for(task, LIMIT) == 0


def test_default_region_is_checked_like_the_other_commands() -> None:
    """`run --default-region` takes an ISO country code; anything else is a usage error."""
    runner = CliRunner()
    assert "--default-region" in runner.invoke(main, ["run", "--help"]).output
    result = runner.invoke(main, ["run", "--default-region", "XX"])
    assert result.exit_code == 2
    assert "unknown region 'XX'" in result.output


def alice_account(tmp_path: Path) -> tuple[Path, Any]:
    """One contact for alice@example.com under owner "ops": (manifests folder, config)."""
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "c.yaml").write_text(contact_yaml("alice-friend", "Alice"))
    return manifests, single_account([manifests], owner="ops", drift_policy=DriftPolicy.CORRECT)


async def alice_converged(url: str) -> None:
    async with httpx.AsyncClient(base_url=url) as http:

        async def converged() -> bool:
            return (await names_by_user(http)).get("alice@example.com") == ["Alice"]

        await eventually_async(converged, "alice's account to converge")


async def test_an_apply_is_refused_while_the_controller_writes_and_proceeds_once_it_is_idle(
    tmp_path: Path,
) -> None:
    """The controller holds an account's lease only while it has writing to do: while its
    creates are not listed yet it keeps it, and an apply from another state directory (another
    machine) is refused, naming the controller; once a listing shows them the idle account
    gives the lease back, with the controller still running, and the same apply proceeds."""
    manifests, config = alice_account(tmp_path)
    clock = ManualClock()
    app = create_app(EmulatorConfig(list_lag_ms=20_000), clock=clock)
    with BackgroundServer(app) as server:
        stop = asyncio.Event()
        run = settings(server.url, tmp_path, token="user:alice@example.com")
        args = [
            "apply", "--auto-approve", "--target", server.url,
            "--token", "user:alice@example.com", "--owner", "ops",
            "--state-dir", str(tmp_path / "elsewhere"), str(manifests),
        ]  # fmt: skip
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(run_controller(config, run, stop=stop))
            await alice_converged(server.url)

            async def logged(event: str) -> bool:
                return any(e["event"] == event for e in logs)

            await eventually_async(
                lambda: logged("apply.waiting_for_listing"), "the creates to wait for a listing"
            )
            refused = await asyncio.to_thread(CliRunner().invoke, main, args)
            assert refused.exit_code == 1, refused.output
            assert "leased to run (owner ops)" in refused.output
            clock.advance(30)
        async with connect(server.url, token="user:alice@example.com") as client:

            async def given_back() -> bool:
                return LeaseRecord.of(await find_lease_group(client)) is None

            await eventually_async(given_back, "the idle account to give its lease back")
        applied = await asyncio.to_thread(CliRunner().invoke, main, args)
        assert applied.exit_code == 0, applied.output
        assert not task.done()
        stop.set()
        assert await asyncio.wait_for(task, LIMIT) == 0


async def test_a_stopping_controller_waits_until_its_creates_are_listed(tmp_path: Path) -> None:
    """On SIGTERM the controller keeps its lease until a listing shows the contacts it created
    (so that an apply from another machine, next, does not create them again), then gives the
    lease back and exits 0 with an empty create journal."""
    clock = ManualClock()
    app = create_app(EmulatorConfig(list_lag_ms=20_000), clock=clock)
    _, config = alice_account(tmp_path)
    with BackgroundServer(app) as server:
        run = settings(server.url, tmp_path, token="user:alice@example.com", shutdown_timeout=600)
        stop = asyncio.Event()
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(run_controller(config, run, stop=stop))
            await alice_converged(server.url)
            stop.set()

            async def waiting() -> bool:
                return any(e["event"] == "apply.waiting_for_listing" for e in logs)

            await eventually_async(waiting, "the controller to wait for the listing")
            assert not task.done()
            assert any(e["event"] == "lease.held" for e in logs)
            assert not any(e["event"] == "lease.released" for e in logs)
            clock.advance(30)
            assert await asyncio.wait_for(task, LIMIT) == 0
            assert any(e["event"] == "lease.released" for e in logs)
    journal = run.state_dir.journal(target=server.url, account="alice@example.com", owner="ops")
    with CreateJournal(journal) as settled:
        assert settled.entries == {}


async def test_a_lease_another_writer_holds_keeps_only_that_account_waiting(
    tmp_path: Path, emulator_server: Any
) -> None:
    """While another writer holds alice's lease, alice's passes wait (not ready, naming the
    holder, once the wait outlasts --lock-timeout) and bob's account converges meanwhile; the
    controller does not exit. Once the lease is given back, alice converges and all is ready."""
    config = load_accounts(
        two_accounts(tmp_path), default_owner="ops", drift_policy=DriftPolicy.CORRECT
    )
    async with (
        connect(emulator_server.url, token="user:alice@example.com") as client,
        httpx.AsyncClient(base_url=emulator_server.url) as http,
    ):
        other = Lease(
            client, lock_path=tmp_path / "ci" / "lease.lock", instance="ci",
            holder="apply (owner ops) by ci@runner-7 pid 42",
        )  # fmt: skip
        await other.acquire()
        # Alice's passes look again every second, not LEASE_RECHECK's 30 s, once it is released.
        intervals = Intervals(poll=0.3, resync=3600, debounce=0.2, lease_recheck=1.0)
        run = settings(
            emulator_server.url, tmp_path, health_addr="127.0.0.1:0", lock_timeout=0.0,
            intervals=intervals,
        )  # fmt: skip
        stop = asyncio.Event()
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(run_controller(config, run, stop=stop))

            async def bob_only() -> bool:
                names = await names_by_user(http)
                return names.get("bob@example.com") == ["Bob"] and not names["alice@example.com"]

            await eventually_async(bob_only, "bob's account to converge while alice waits")
            address = next(e["address"] for e in logs if e["event"] == "serving")
            async with httpx.AsyncClient(base_url=address) as probe:

                async def names_the_holder() -> bool:
                    answer = await probe.get("/readyz")
                    return answer.status_code == 503 and "ci@runner-7 pid 42 until" in answer.text

                await eventually_async(names_the_holder, "readiness to name the lease's holder")
                assert not task.done()
                await other.release()

                async def ready() -> bool:
                    return (await probe.get("/readyz")).status_code == 200

                await eventually_async(ready, "readiness once the lease is free")
            assert await names_by_user(http) == {
                "alice@example.com": ["Alice"],
                "bob@example.com": ["Bob"],
            }
        stop.set()
        assert await asyncio.wait_for(task, LIMIT) == 0
