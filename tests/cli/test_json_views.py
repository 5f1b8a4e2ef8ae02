"""plan -o json and apply -o json speak one language: snake_case names, the same counts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.emulator import BackgroundServer
from tests.support.pacing import roomy

USER = "admin@example.com"
SNAKE = re.compile(r"^[a-z]+(_[a-z]+)*$")


def run(*args: str) -> Result:
    """``reconciler ARGS`` in process; ``apply`` with roomy per-user budgets."""
    return CliRunner().invoke(main, roomy(args), catch_exceptions=False)


def target(server: BackgroundServer) -> list[str]:
    return ["--target", server.url, "--token", f"user:{USER}"]


def contact(name: str, email: str, *, groups: str = "", adopt: bool = False) -> str:
    annotations = "  annotations: {reconciler/adopt: email}\n" if adopt else ""
    spec_groups = f"  groups: [{groups}]\n" if groups else ""
    return (
        f"---\napiVersion: reconciler/v1\nkind: Contact\nmetadata:\n  name: {name}\n"
        f"{annotations}spec:\n  emailAddresses: [{email}]\n{spec_groups}"
    )


GROUPS = (
    "---\napiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {name: team}\n"
    "spec: {name: Team}\n"
    "---\napiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {name: club}\n"
    "spec: {name: Club}\n"
)


def envelope_keys(data: Any) -> set[str]:
    """Every key of a JSON view, except inside field values (People API data, camelCase)."""
    keys: set[str] = set()
    if isinstance(data, dict):
        for key, value in data.items():
            keys.add(key)
            if key not in ("before", "after"):
                keys |= envelope_keys(value)
    elif isinstance(data, list):
        for item in data:
            keys |= envelope_keys(item)
    return keys


def test_apply_counts_what_the_plan_counted(
    emulator_server: BackgroundServer, tmp_path: Path
) -> None:
    """Creates, changes, an adoption, unchanged contacts and groups, and a kept orphan."""
    first = tmp_path / "first.yaml"
    first.write_text(
        GROUPS
        + contact("same", "same@example.com", groups="team")
        + contact("edited", "edited@example.com")
        + contact("orphan", "orphan@example.com")
    )
    assert run("apply", "--auto-approve", *target(emulator_server), str(first)).exit_code == 0
    httpx.post(
        f"{emulator_server.url}/v1/people:createContact",
        headers={"Authorization": f"Bearer user:{USER}"},
        json={"emailAddresses": [{"value": "mine@example.com"}]},
        timeout=30,
    ).raise_for_status()
    second = tmp_path / "second"
    second.mkdir()
    (second / "all.yaml").write_text(
        GROUPS
        + contact("same", "same@example.com", groups="team")
        + contact("edited", "edited.new@example.com")
        + contact("mine", "mine@example.com", adopt=True)
        + contact("new", "new@example.com")
    )
    planned = run("plan", "-o", "json", *target(emulator_server), str(second))
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    applied = run("apply", "-o", "json", "--auto-approve", *target(emulator_server), str(second))
    assert applied.exit_code == 0, applied.output
    result = json.loads(applied.stdout)
    assert plan["summary"] == {
        "add": 1, "change": 1, "adopt": 1, "destroy": 0, "unchanged": 4, "orphaned": 1
    }  # fmt: skip
    assert {k: result["summary"][k] for k in plan["summary"]} == plan["summary"], result
    assert result["summary"]["left"] == 0
    assert all(SNAKE.match(key) for key in envelope_keys(plan) | envelope_keys(result))
    assert {r["name"] for r in result["results"]} >= {"same", "edited", "mine", "new", "orphan"}
