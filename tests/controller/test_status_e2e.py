"""``/status``, ``/status/{account}`` and ``reconciler status`` against a running controller.

The controller runs under ``--drift-policy report`` so that an out-of-band edit leaves the account
visibly out of sync (nothing corrects it) until the contact is edited back.
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
from tests.support.controller import Controller, Emulator, launch_controller
from tests.support.eventually import eventually
from tests.support.manifests import contact_yaml
from tests.support.receiver import receiver
from tests.support.status_schema import validator


@pytest.fixture
def reporting(tmp_path: Path, emulator: Emulator, manifests: Path) -> Iterator[Controller]:
    """A controller of two contacts that reports drift and corrects nothing."""
    controller = launch_controller(tmp_path, emulator, manifests, "--drift-policy", "report")
    yield controller
    controller.stop()


def status_command(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["status", *args])
    return result.exit_code, result.output


def exits(code: int, *args: str) -> bool:
    return status_command(*args)[0] == code


def test_status_answers_the_documented_schema_in_and_out_of_sync(
    reporting: Controller, emulator: Emulator
) -> None:
    """Real answers validate against the schema in docs/status.md, before and after drift,
    and one account's answer lists its contacts with their conditions."""
    whole, one = validator(), validator("account")
    eventually(lambda: exits(0, "--controller", reporting.base), "the account to be in sync")
    answer = httpx.get(reporting.base + "/status").json()
    whole.validate(answer)
    assert [(a["name"], a["state"]) for a in answer["accounts"]] == [("default", "InSync")]
    emulator.edit(emulator.resource_name("jane"), "Mallory")
    eventually(lambda: exits(2, "--controller", reporting.base), "the drift to show")
    whole.validate(httpx.get(reporting.base + "/status").json())
    account = httpx.get(reporting.base + "/status/default").json()
    one.validate(account)
    synced = {c["key"]: c["conditions"][1] for c in account["contacts"]}
    assert (synced["jane"]["status"], synced["jane"]["reason"]) == ("False", "Drifted")
    assert synced["joe"]["status"] == "True"
    assert httpx.get(reporting.base + "/status/nobody").status_code == 404


def test_reconciler_status_exit_codes_follow_the_accounts(
    reporting: Controller, emulator: Emulator
) -> None:
    """0 while everything is in sync, 2 while a contact has drifted, 0 again once it is edited
    back, and the table names the account and its state."""
    eventually(lambda: exits(0, "--controller", reporting.base), "the account to be in sync")
    emulator.edit(emulator.resource_name("jane"), "Mallory")
    eventually(lambda: exits(2, "--controller", reporting.base), "exit code 2 after drift")
    code, table = status_command("--controller", reporting.base)
    assert code == 2
    assert table.splitlines()[0].split()[:2] == ["ACCOUNT", "STATE"]
    assert table.splitlines()[1].split()[:2] == ["default", "OutOfSync"]
    assert exits(2, "--controller", reporting.base, "--account", "default")
    code, output = status_command("--controller", reporting.base, "--account", "acct-0000000000")
    assert (code, "no account named 'acct-0000000000'" in output) == (1, True)
    emulator.edit(emulator.resource_name("jane"), "Jane")
    eventually(lambda: exits(0, "--controller", reporting.base), "exit code 0 once edited back")
    code, output = status_command("--controller", reporting.base, "-o", "json")
    assert code == 0
    validator().validate(json.loads(output))


def test_reconciler_status_exits_1_when_no_controller_answers() -> None:
    """An address nobody listens on is an error with a hint, exit 1."""
    code, output = status_command("--controller", "http://127.0.0.1:9")
    assert code == 1
    assert "cannot reach the controller" in output


def test_the_running_controller_notifies_each_transition_once_per_revision_and_reason(
    tmp_path: Path, emulator: Emulator, manifests: Path
) -> None:
    """Drift detected and put right, then the same contact drifting again on the same revision
    (not told twice), then broken and fixed manifests: each reaches the receiver once."""
    with receiver() as hook:
        controller = launch_controller(
            tmp_path,
            emulator,
            manifests,
            "--drift-policy",
            "report",
            "--notify",
            f"json://{hook.url}/hook",
        )
        try:

            def reasons() -> list[str]:
                return [b["message"].rsplit("reason: ", 1)[1] for b in hook.bodies()]

            eventually(lambda: exits(0, "--controller", controller.base), "in sync")
            emulator.edit(emulator.resource_name("jane"), "Mallory")
            eventually(lambda: reasons() == ["DriftDetected"], "drift to be told")
            emulator.edit(emulator.resource_name("jane"), "Jane")
            eventually(lambda: exits(0, "--controller", controller.base), "in sync again")
            eventually(lambda: reasons() == ["DriftDetected", "DriftCorrected"], "the fix")
            emulator.edit(emulator.resource_name("jane"), "Eve")
            eventually(lambda: exits(2, "--controller", controller.base), "drift again")
            (manifests / "broken.yaml").write_text("apiVersion: reconciler/v1\nkind: Nope\n")
            eventually(
                lambda: reasons()[-1:] == ["ManifestsInvalid"], "broken manifests to be told"
            )
            (manifests / "broken.yaml").unlink()
            eventually(lambda: reasons()[-1:] == ["ManifestsFixed"], "the fix to be told")
            assert reasons() == [
                "DriftDetected",
                "DriftCorrected",
                "ManifestsInvalid",
                "ManifestsFixed",
            ]
            assert all("jane" in b["message"] for b in hook.bodies()[:2])
        finally:
            controller.stop()


def test_conflicts_show_with_their_next_attempt_in_the_json_and_the_page(
    reporting: Controller, emulator: Emulator, manifests: Path
) -> None:
    """While every update is refused as stale, the edited contact is listed as a conflict with
    its next attempt and retries, in /status/{account} and on the account's page; once the
    storm passes it converges and the list is empty."""
    eventually(lambda: exits(0, "--controller", reporting.base), "the account to be in sync")
    emulator.configure(spurious_etag_rate=1.0, spurious_etag_window_ms=600_000)
    (manifests / "people.yaml").write_text(
        contact_yaml("jane", "Janet", email="jane@example.com")
        + "---\n"
        + contact_yaml("joe", "Joe")
    )

    def conflicted() -> dict[str, Any]:
        account = httpx.get(reporting.base + "/status/default").json()
        assert [c["key"] for c in account["conflicts"]] == ["jane"]
        # While its retry pass runs the conflict has no next attempt yet: wait for a snapshot
        # between two attempts, where one is scheduled.
        assert account["conflicts"][0]["nextAttempt"] is not None
        return dict(account)

    account = eventually(conflicted, "a conflict to show with its next attempt")
    validator("account").validate(account)
    assert account["state"] in ("OutOfSync", "Stalled")  # stalled after 3 retries
    page = httpx.get(reporting.base + "/accounts/default").text
    assert "<h2>Conflicts</h2><table>" in page
    assert "<code>jane</code>" in page.split("<h2>Conflicts</h2>", 1)[1].split("<h2>", 1)[0]
    emulator.configure(spurious_etag_rate=0.0)
    eventually(lambda: exits(0, "--controller", reporting.base), "convergence after the storm")
    assert httpx.get(reporting.base + "/status/default").json()["conflicts"] == []


def test_a_running_controller_marks_each_manifests_commit_on_github(
    tmp_path: Path, emulator: Emulator, manifests: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Manifests checked out at a commit: the controller posts pending, then success once every
    contact matches, as the account's context; a new commit gets its own pair; /status names
    the revision applied."""
    first, second = "1" * 40, "2" * 40
    (manifests / ".git").mkdir()
    (manifests / ".git" / "HEAD").write_text(first + "\n")
    monkeypatch.setenv("RECONCILER_GITHUB_TOKEN", "t0ken")
    with receiver() as github:
        controller = launch_controller(
            tmp_path,
            emulator,
            manifests,
            "--github-status",
            "acme/address-book",
            "--github-api",
            f"http://{github.url}/api/v3",
        )
        try:

            def marks() -> list[tuple[str, str]]:
                return [(r.path.rsplit("/", 1)[1], r.body["state"]) for r in github.requests]

            eventually(lambda: marks() == [(first, "pending"), (first, "success")], "first")
            eventually(lambda: exits(0, "--controller", controller.base), "in sync")
            assert httpx.get(controller.base + "/status").json()["accounts"][0]["revision"] == first
            (manifests / ".git" / "HEAD").write_text(second + "\n")
            (manifests / "people.yaml").write_text(
                contact_yaml("jane", "Janet", email="jane@example.com")
                + "---\n"
                + contact_yaml("joe", "Joe")
            )
            eventually(lambda: marks()[2:] == [(second, "pending"), (second, "success")], "second")
            assert {r.body["context"] for r in github.requests} == {"contacts-reconciler/default"}
            assert github.requests[0].headers["Authorization"] == "Bearer t0ken"
        finally:
            controller.stop()
