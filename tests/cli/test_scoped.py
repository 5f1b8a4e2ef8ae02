"""--selector on plan, apply and export, and observe-only contacts, against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.emulator import BackgroundServer
from reconciler.manifest import load
from tests.support.pacing import roomy

USER = "admin@example.com"


def run(*args: str) -> Result:
    """``reconciler ARGS`` in process; ``apply`` with roomy per-user budgets."""
    return CliRunner().invoke(main, roomy(args), catch_exceptions=False)


def target(server: BackgroundServer) -> list[str]:
    return ["--target", server.url, "--token", f"user:{USER}"]


def contact(name: str, team: str, *, annotations: str = "") -> str:
    return (
        f"apiVersion: reconciler/v1\nkind: Contact\nmetadata:\n  name: {name}\n"
        f"  labels: {{team: {team}}}\n{annotations}"
        f"spec:\n  names: [{{givenName: {name}}}]\n  emailAddresses: [{name}@example.com]\n"
    )


def live_names(server: BackgroundServer) -> list[str]:
    dump: Any = httpx.get(f"{server.url}/__emulator/dump", timeout=30).json()
    people = dump["users"][USER]["people"]
    return sorted(p["names"][0]["givenName"] for p in people)


def writes(server: BackgroundServer) -> int:
    """Calls that write contacts (the address book's lease group is apply's own business)."""
    stats = httpx.get(f"{server.url}/__emulator/stats", timeout=30).json()
    reads = ("list", "get", "Get", "search")
    return sum(
        count
        for method, count in stats["by_method"].items()
        if method.startswith("people.people.")
        and not any(method.rsplit(".", 1)[-1].startswith(verb) for verb in reads)
    )


def seed(server: BackgroundServer, root: Path) -> None:
    root.mkdir(exist_ok=True)
    for name, team in (("ann", "sales"), ("bob", "sales"), ("cid", "ops"), ("dee", "ops")):
        (root / f"{name}.yaml").write_text(contact(name, team), encoding="utf-8")
    applied = run("apply", "--auto-approve", *target(server), str(root))
    assert applied.exit_code == 0, applied.output


def test_a_scoped_prune_deletes_only_inside_the_selection(
    emulator_server: BackgroundServer, tmp_path: Path
) -> None:
    """With every manifest gone, a prune scoped to team=sales deletes the sales contacts only."""
    seed(emulator_server, tmp_path)
    for name in ("bob", "dee"):
        (tmp_path / f"{name}.yaml").unlink()
    scoped = ["--selector", "team=sales", "--prune", "--max-delete-share", "1"]
    planned = run("plan", *scoped, *target(emulator_server), str(tmp_path))
    assert planned.exit_code == 0, planned.output
    assert 'contact "bob"' in planned.stdout
    assert "dee" not in planned.stdout
    applied = run("apply", "--auto-approve", *scoped, *target(emulator_server), str(tmp_path))
    assert applied.exit_code == 0, applied.output
    assert live_names(emulator_server) == ["ann", "cid", "dee"]


def test_export_selects_by_the_labels_in_the_stamp(
    emulator_server: BackgroundServer, tmp_path: Path
) -> None:
    """Labels survive in the stamp, so export --selector picks the same contacts."""
    seed(emulator_server, tmp_path / "in")
    out = tmp_path / "out"
    exported = run("export", "-l", "team in (ops)", *target(emulator_server), "--out", str(out))
    assert exported.exit_code == 0, exported.output
    loaded = load([out])
    assert sorted(c.name for c in loaded.contacts) == ["cid", "dee"]
    assert {c.labels["team"] for c in loaded.contacts} == {"ops"}


def test_a_bad_selector_is_a_usage_error(tmp_path: Path) -> None:
    """Exit 2 with the column and the syntax, before anything is read."""
    result = run("plan", "--selector", "team=sales,", str(tmp_path))
    assert result.exit_code == 2
    assert "column 11" in result.stderr


def test_observe_only_reports_drift_and_writes_nothing(
    emulator_server: BackgroundServer, tmp_path: Path
) -> None:
    """A contact marked observe is compared and its drift shown, but apply never writes it."""
    seed(emulator_server, tmp_path)
    observe = "  annotations: {reconciler/management-policy: observe}\n"
    (tmp_path / "ann.yaml").write_text(
        contact("ann", "sales", annotations=observe).replace("ann@", "ann.new@"), encoding="utf-8"
    )
    before = writes(emulator_server)
    planned = run("plan", "--detailed-exitcode", *target(emulator_server), str(tmp_path))
    assert planned.exit_code == 0, planned.output  # drift is reported, but it is no change
    assert (
        'contact "ann" is kept: observe-only: live differs from the manifest in emailAddresses'
        in planned.stdout
    )
    applied = run("apply", "--auto-approve", *target(emulator_server), str(tmp_path))
    assert applied.exit_code == 0, applied.output
    assert writes(emulator_server) == before
