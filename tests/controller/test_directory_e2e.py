"""`reconciler run --config` with a directory entry, end to end against the emulator over HTTP:
users joining and leaving the selection while the controller runs, and the Directory failing.

Nothing sleeps: every wait polls for its effect with a generous limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.controller.labels import subject_label
from tests.support.controller import Controller, launch_with_config
from tests.support.directory import given_names_by_user, seed_admin, seed_group, seed_user
from tests.support.eventually import eventually
from tests.support.manifests import contact_yaml
from tests.support.status_schema import validator


@pytest.fixture
def http(emulator_server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_server.url, timeout=10) as client:
        yield client


def user_manifests(root: Path, *users: str) -> None:
    for user in users:
        folder = root / "users" / user
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "c.yaml").write_text(contact_yaml(f"{user}-friend", user.title()))


def sales_config(root: Path) -> Path:
    config = root / "accounts.yaml"
    config.write_text(
        "directory:\n"
        "  - name: sales\n"
        "    admin: admin@example.com\n"
        "    orgUnitPath: /Sales\n"
        "    manifests: users/{user}\n"
        "    refreshInterval: 300ms\n"
    )
    return config


def status(controller: Controller) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(controller.http.get(controller.base + "/status").text)
    return answer


def stopped(controller: Controller, account: str) -> bool:
    return any(
        e.get("account") == account
        for e in controller.logged("account stopped; its contacts stay as they are")
    )


def test_users_joining_and_leaving_an_org_unit_are_started_and_stopped(
    tmp_path: Path, emulator_server: Any, http: httpx.Client
) -> None:
    """The users of /Sales and the units under it are reconciled, each from its own folder;
    suspended and archived users and users elsewhere are not. A user moved into the unit while
    the controller runs is started; one moved out is stopped, their contacts left as they are."""
    seed_admin(http)
    seed_user(http, "alice@example.com", "/Sales")
    seed_user(http, "bob@example.com", "/Sales/East")
    seed_user(http, "carol@example.com", "/Support")
    seed_user(http, "dave@example.com", "/Sales", suspended=True)
    seed_user(http, "erin@example.com", "/Sales", archived=True)
    user_manifests(tmp_path, "alice", "bob", "carol", "dave", "erin")
    controller = launch_with_config(tmp_path, emulator_server.url, sales_config(tmp_path))
    try:
        eventually(
            lambda: (
                given_names_by_user(http)
                == {"alice@example.com": ["Alice"], "bob@example.com": ["Bob"]}
            ),
            "the two active users of /Sales to converge",
        )
        eventually(controller.ready, "the controller to be ready")

        seed_user(http, "carol@example.com", "/Sales")
        seed_user(http, "bob@example.com", "/Support")
        eventually(
            lambda: given_names_by_user(http).get("carol@example.com") == ["Carol"],
            "carol, moved into /Sales, to converge",
        )
        eventually(lambda: stopped(controller, "bob@example.com"), "bob's account to stop")
        assert given_names_by_user(http)["bob@example.com"] == ["Bob"]  # nothing deleted
        names = {a["name"] for a in status(controller)["accounts"]}
        bob = subject_label("bob@example.com")
        assert names == {subject_label("alice@example.com"), subject_label("carol@example.com")}
        assert bob not in controller.http.get(controller.base + "/metrics").text

        # An edit to bob's manifests is no longer applied, while carol's still is.
        (tmp_path / "users" / "bob" / "c.yaml").write_text(contact_yaml("bob-friend", "Robert"))
        (tmp_path / "users" / "carol" / "c.yaml").write_text(contact_yaml("carol-friend", "Caro"))
        eventually(
            lambda: given_names_by_user(http).get("carol@example.com") == ["Caro"],
            "carol's edit to be applied",
        )
        assert given_names_by_user(http)["bob@example.com"] == ["Bob"]
    finally:
        controller.stop()


def test_a_failing_directory_keeps_the_last_good_list_and_says_so(
    tmp_path: Path, emulator_server: Any, http: httpx.Client
) -> None:
    """When the Directory fails, the accounts of the last good answer keep running; the
    failure is counted, shown in /status and, past the grace, in /readyz; a later good answer
    makes the controller ready again."""
    seed_admin(http)
    seed_user(http, "alice@example.com", "/Sales")
    user_manifests(tmp_path, "alice", "bob")
    controller = launch_with_config(
        tmp_path, emulator_server.url, sales_config(tmp_path), "--api-grace", "500ms"
    )
    try:
        eventually(controller.ready, "the controller to be ready")
        http.patch("/__emulator/config", json={"directory_error_rate": 1.0}).raise_for_status()
        seed_user(http, "bob@example.com", "/Sales")  # not seen while the Directory fails

        def unready_for_the_directory() -> bool:
            answer = controller.http.get(controller.base + "/readyz")
            return answer.status_code == 503 and "directory sales: refreshes" in answer.text

        eventually(unready_for_the_directory, "readiness to report the failing refreshes")
        assert (
            controller.metric("reconciler_directory_refreshes_total", entry="sales", result="error")
            >= 1
        )
        answer = status(controller)
        validator().validate(answer)  # the documented schema of /status
        (entry,) = answer["directory"]
        assert entry["ok"] is False
        assert entry["users"] == 1
        assert entry["error"]
        assert len(status(controller)["accounts"]) == 1  # alice still runs
        page = controller.http.get(controller.base + "/").text
        assert "<h2>Directory</h2>" in page
        assert "failing" in page
        told = CliRunner().invoke(main, ["status", "--controller", controller.base])
        assert told.exit_code == 2  # a failing directory entry is not settled
        assert "sales" in told.output
        assert "failing since" in told.output
        assert "bob@example.com" not in given_names_by_user(http)
        # alice is still reconciled from the last good list
        (tmp_path / "users" / "alice" / "c.yaml").write_text(contact_yaml("alice-friend", "Ali"))
        eventually(
            lambda: given_names_by_user(http).get("alice@example.com") == ["Ali"],
            "alice's edit to be applied while the Directory fails",
        )

        http.patch("/__emulator/config", json={"directory_error_rate": 0.0}).raise_for_status()
        eventually(
            lambda: given_names_by_user(http).get("bob@example.com") == ["Bob"],
            "bob to join once the Directory answers again",
        )
        eventually(controller.ready, "the controller to be ready again")
    finally:
        controller.stop()


def test_a_groups_members_share_one_manifests_folder_nested_groups_included(
    tmp_path: Path, emulator_server: Any, http: httpx.Client
) -> None:
    """Members of a group and of the groups in it get the same contacts from one shared path;
    a member taken out of the group stops being reconciled and keeps their contacts."""
    seed_admin(http)
    for user in ("ann", "ben", "cat"):
        seed_user(http, f"{user}@example.com", "/")
    seed_group(http, "oncall@example.com", ["ben@example.com"])
    seed_group(
        http, "eng@example.com", ["ann@example.com", "oncall@example.com", "x@elsewhere.org"]
    )
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "c.yaml").write_text(contact_yaml("helpdesk", "Helpdesk"))
    config = tmp_path / "accounts.yaml"
    config.write_text(
        "directory:\n"
        "  - name: eng\n"
        "    admin: admin@example.com\n"
        "    group: eng@example.com\n"
        "    nestedGroups: true\n"
        "    manifests: shared\n"
        "    refreshInterval: 300ms\n"
    )
    controller = launch_with_config(tmp_path, emulator_server.url, config)
    try:
        both = {"ann@example.com": ["Helpdesk"], "ben@example.com": ["Helpdesk"]}
        eventually(lambda: given_names_by_user(http) == both, "the group's users to converge")
        seed_group(http, "eng@example.com", ["oncall@example.com"])
        seed_group(http, "oncall@example.com", ["ben@example.com", "cat@example.com"])
        eventually(
            lambda: given_names_by_user(http).get("cat@example.com") == ["Helpdesk"],
            "cat, added to the nested group, to converge",
        )
        eventually(lambda: stopped(controller, "ann@example.com"), "ann's account to stop")
        assert given_names_by_user(http)["ann@example.com"] == ["Helpdesk"]
    finally:
        controller.stop()
