"""Accounts chosen by the Directory, without HTTP: the ``directory`` entries of the accounts
file (defaults, placeholders, located errors), who wins an address chosen twice, the shard, the
last good list kept when a refresh fails, and the fleet of running accounts changing."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import structlog

from reconciler.clock import ManualClock
from reconciler.controller.account import AccountWorker
from reconciler.controller.accounts import Account, AccountsError, DriftPolicy, load_accounts
from reconciler.controller.fleet import Fleet
from reconciler.controller.metrics import Metrics
from reconciler.controller.roster import Roster
from reconciler.controller.selection import DirectorySelection
from reconciler.controller.sharding import Shard, shard_of
from tests.support.eventually import eventually_async


def load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "accounts.yaml"
    path.write_text(text, encoding="utf-8")
    return load_accounts(path, default_owner="ops", drift_policy=DriftPolicy.CORRECT)


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(AccountsError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_a_directory_entry_loads_with_defaults_and_placeholders(tmp_path: Path) -> None:
    """Customer my_customer, the flags' owner and policy, a 10 minute refresh; each user's
    manifests path is filled from their address, relative to the file."""
    config = load(
        tmp_path,
        "directory:\n"
        "  - admin: admin@example.com\n"
        "    orgUnitPath: /Sales\n"
        "    manifests:\n"
        "      - users/{user}\n"
        "      - shared\n"
        "      - by-domain/{domain}/{email}\n",
    )
    assert config.accounts == ()
    (selection,) = config.directory
    assert (selection.name, selection.customer, selection.refresh) == (
        "directory-0",
        "my_customer",
        600.0,
    )
    account = selection.account("Ann.Lee@Example.com")
    assert account == Account(
        subject="ann.lee@example.com",
        manifests=(
            tmp_path / "users/ann.lee",
            tmp_path / "shared",
            tmp_path / "by-domain/example.com/ann.lee@example.com",
        ),
        owner="ops",
        suspend=False,
        drift_policy=DriftPolicy.CORRECT,
    )


def test_an_address_that_could_leave_its_folder_is_refused() -> None:
    """A local part of '..' cannot point an account at another folder."""
    selection = DirectorySelection(
        name="d", admin="a@x", manifests=("users/{user}",), base=Path("/m"), owner="o",
        suspend=False, drift_policy=DriftPolicy.CORRECT, refresh=60.0, org_unit_path="/",
    )  # fmt: skip
    assert selection.account("..@example.com") is None
    assert selection.account("a/b@example.com") is None
    assert selection.account("ok@example.com") is not None


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        ("    manifests: u/{name}\n    orgUnitPath: /\n", ":3:16:", "unknown placeholder {name}"),
        ("    manifests: 'u/{user'\n    orgUnitPath: /\n", ":3:16:", "literal brace"),
        ("    manifests: u\n", ":2:12:", "the entry selects no users"),
        (
            "    manifests: u\n    group: g@x\n    refreshInterval: soon\n",
            ":5:22:",
            "not a duration",
        ),
        (
            "    manifests: u\n    query: a=b\n    customer: c\n    domain: d\n",
            ":6:13:",
            "not both",
        ),
        ("    manifests: u\n    orgUnitPath: Sales\n", ":4:18:", "starts with /"),
        ("    manifests: u\n    group: g@x\n    colour: red\n", ":5:5:", "Extra inputs"),
    ],
)
def test_mistakes_in_a_directory_entry_are_located(
    tmp_path: Path, entry: str, where: str, message: str
) -> None:
    """Each mistake names the file, line and column, what is wrong and what to write."""
    text = problems(tmp_path, "directory:\n  - admin: admin@example.com\n" + entry)
    assert f"accounts.yaml{where}" in text
    assert message in text
    assert "hint:" in text


def test_two_entries_need_two_names(tmp_path: Path) -> None:
    """Names tell entries apart in status and metrics."""
    entry = "  - {name: sales, admin: a@example.com, manifests: m, orgUnitPath: /}\n"
    text = problems(tmp_path, "directory:\n" + entry + entry)
    assert "accounts.yaml:3:" in text
    assert "'sales' is used twice" in text


def roster_of(tmp_path: Path, shard: Shard | None = None, **kwargs: Any) -> Roster:
    config = load(
        tmp_path,
        "accounts:\n"
        "  - {subject: Ann@example.com, manifests: ann, owner: hand}\n"
        "directory:\n"
        "  - {name: first, admin: a@example.com, orgUnitPath: /, manifests: one, owner: first}\n"
        "  - {name: second, admin: a@example.com, group: g@example.com, manifests: two}\n",
    )
    return Roster(config, shard=shard or Shard(0, 1), metrics=Metrics(), **kwargs)


async def test_an_address_chosen_twice_has_one_writer(tmp_path: Path) -> None:
    """The file's own entry wins over the directory's; an earlier entry over a later one."""
    roster = roster_of(tmp_path)
    answers = {
        "first": ["ann@example.com", "ben@example.com"],
        "second": ["ben@example.com", "cat@example.com"],
    }

    async def ask(selection: DirectorySelection) -> list[str]:
        return answers[selection.name]

    await roster.refresh_all(ask)
    owners = {a.key: a.owner for a in roster.accounts()}
    assert owners == {
        "Ann@example.com": "hand",
        "ben@example.com": "first",
        "cat@example.com": "ops",
    }


async def test_the_shard_applies_to_the_resulting_list(tmp_path: Path) -> None:
    """Each of two shards runs exactly the users (and file accounts) that hash to it."""
    users = [f"u{n}@example.com" for n in range(40)]

    async def ask(selection: DirectorySelection) -> list[str]:
        return users if selection.name == "first" else []

    owned: list[str] = []
    for index in range(2):
        roster = roster_of(tmp_path, Shard(index, 2))
        await roster.refresh_all(ask)
        keys = [a.key for a in roster.accounts()]
        assert all(shard_of(key, 2) == index for key in keys)
        owned += keys
    assert sorted(owned) == sorted([*users, "Ann@example.com"])


async def test_a_failed_refresh_keeps_the_last_good_list_and_says_so(tmp_path: Path) -> None:
    """Before any answer the entry keeps the controller unready; after one, a failure keeps
    the list and is reported once it lasts the grace; the metric counts each result."""
    clock = ManualClock(1_000_000.0)
    roster = roster_of(tmp_path, grace=20.0, clock=clock)
    failing = True

    async def ask(selection: DirectorySelection) -> list[str]:
        if failing:
            raise RuntimeError("Directory down")
        return ["ben@example.com"]

    assert not await roster.refresh("first", ask)
    assert (
        "directory first: no list of users yet (RuntimeError: Directory down)" in roster.problems()
    )
    failing = False
    assert await roster.refresh("first", ask)
    assert await roster.refresh("second", ask)
    assert roster.problems() == []
    failing = True
    assert not await roster.refresh("first", ask)
    assert roster.problems() == []  # within the grace
    clock.advance(21)
    (line,) = roster.problems()
    assert "directory first: refreshes have been failing for 21s" in line
    assert "last good list of 1 users stays" in line
    assert {a.key for a in roster.accounts()} == {"Ann@example.com", "ben@example.com"}
    first = next(e for e in roster.to_json() if e["name"] == "first")
    assert (first["ok"], first["users"], first["error"]) == (
        False,
        1,
        "RuntimeError: Directory down",
    )
    exposition = roster.metrics.exposition().decode()
    assert 'reconciler_directory_refreshes_total{entry="first",result="error"} 2.0' in exposition
    assert 'reconciler_directory_users{entry="first"} 1.0' in exposition


class StubWorker:
    """Stands in for an account worker: runs until shut down."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self._stop = asyncio.Event()

    async def run(self) -> None:
        await self._stop.wait()

    def shut_down(self) -> None:
        self._stop.set()


def account(key: str) -> Account:
    return Account(key, (Path("m"),), "o", suspend=False, drift_policy=DriftPolicy.CORRECT)


async def test_the_fleet_starts_joiners_stops_leavers_and_retries_what_failed() -> None:
    """A leaver's stack is unwound (its lease given back) and it is forgotten; an account that
    cannot be opened is left out, forgotten and tried again at the next update."""
    closed: list[str] = []
    forgotten: list[str] = []
    refuse = {"bad@x"}

    async def opener(stack: AsyncExitStack, joining: Account) -> AccountWorker:
        stack.callback(closed.append, joining.key)
        if joining.key in refuse:
            raise RuntimeError("lease held elsewhere")
        return StubWorker(joining)  # type: ignore[return-value]

    fleet = Fleet(opener=opener, forget=lambda a: forgotten.append(a.key), drain_bound=5)
    await fleet.update([account("a@x"), account("b@x"), account("bad@x")])
    assert fleet.keys() == {"a@x", "b@x"}
    assert (closed, forgotten) == (["bad@x"], ["bad@x"])
    refuse.clear()
    await fleet.update([account("b@x"), account("bad@x")])
    assert fleet.keys() == {"b@x", "bad@x"}
    assert closed == ["bad@x", "a@x"]
    assert forgotten == ["bad@x", "a@x"]
    assert not fleet.ended.is_set()  # stopping on purpose is no crash
    await fleet.drain(5)
    await fleet.close()
    assert sorted(closed) == ["a@x", "b@x", "bad@x", "bad@x"]


async def test_refreshes_go_on_after_an_answer_could_not_be_applied(tmp_path: Path) -> None:
    """Every good answer is handed on, in order; one that could not be applied is logged and
    the next refresh applies again (the loop never dies silently)."""
    roster = roster_of(tmp_path, clock=ManualClock())
    applied: list[list[str]] = []
    rounds = iter(range(1000))

    async def ask(selection: DirectorySelection) -> list[str]:
        return [f"u{next(rounds)}@example.com"] if selection.name == "first" else []

    async def apply(accounts: Any) -> None:
        applied.append(sorted(a.key for a in accounts))
        if len(applied) == 1:
            raise RuntimeError("a lease could not be given back")

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(roster.run(ask, apply))
        await eventually_async(lambda: len(applied) >= 4, "four answers to be applied")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert any(e["event"] == "could not apply the directory's answer" for e in logs)
    assert all("Ann@example.com" in keys for keys in applied)
