"""``reconciler plan --drift-only``: only what changed live since the last apply.

Against the emulator over HTTP: an out-of-band edit (the emulator's edit endpoint, as a person
on a phone) is drift; a manifest edit is intent and never shows; with both, only the drift
shows. ``--detailed-exitcode`` says whether there is drift; saving such a plan is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.emulator import BackgroundServer
from tests.support.cli import invoke
from tests.support.manifests import write_tree


def _resource_name(server: BackgroundServer, key: str) -> str:
    dump: dict[str, Any] = httpx.get(server.url + "/__emulator/dump").json()
    for book in dump.get("users", dump).values():
        for person in book.get("contacts", book.get("people", [])):
            stamp = {e["key"]: e["value"] for e in person.get("clientData", [])}
            if stamp.get("reconciler.name") == key:
                return str(person["resourceName"])
    raise AssertionError(f"no contact {key}")


def _edit_live(server: BackgroundServer, key: str, given: str) -> None:
    httpx.post(
        server.url + "/__emulator/edit",
        json={
            "user": "alice",
            "resourceName": _resource_name(server, key),
            "person": {"names": [{"givenName": given, "familyName": "Edited"}]},
            "updatePersonFields": "names",
        },
    ).raise_for_status()


def _plan(tmp_path: Path, server: BackgroundServer, *args: str) -> Any:
    return invoke(
        "plan", "--target", server.url, "--token", "user:alice", "--drift-only",
        "--detailed-exitcode", *args, "m", cwd=tmp_path,
    )  # fmt: skip


@pytest.fixture
def applied(tmp_path: Path, emulator_server: BackgroundServer) -> BackgroundServer:
    """Three contacts applied to alice's address book: in sync, nothing drifted."""
    write_tree(tmp_path / "m", range(3))
    done = invoke(
        "apply", "--auto-approve", "--target", emulator_server.url, "--token", "user:alice", "m",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return emulator_server


def test_an_out_of_band_edit_shows_as_drift_only(tmp_path: Path, applied: BackgroundServer) -> None:
    """A person's edit is the drift-only plan's one change, labelled drift; exit code 2."""
    _edit_live(applied, "person-0001", "Mallory")
    shown = _plan(tmp_path, applied)
    assert shown.exit_code == 2, shown.output
    assert '~ contact "person-0001"' in shown.stdout
    assert "Mallory" in shown.stdout
    assert "# drift" in shown.stdout
    assert "person-0000" not in shown.stdout
    assert "person-0002" not in shown.stdout
    assert shown.stdout.rstrip().endswith(
        "Drift-only plan: 1 contact(s) changed live since last applied, 1 of them to write "
        "back; changes the manifests ask for are not shown."
    )


def test_a_manifest_edit_is_not_drift(tmp_path: Path, applied: BackgroundServer) -> None:
    """New titles, a new contact and a removed one are intent: no drift, exit code 0, while
    the full plan shows them."""
    write_tree(tmp_path / "m", range(1, 4), title="Manager")
    shown = _plan(tmp_path, applied)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip().endswith(
        "No drift. The live contacts are as the reconciler last applied them."
    )
    full = invoke(
        "plan", "--target", applied.url, "--token", "user:alice", "--detailed-exitcode", "m",
        cwd=tmp_path,
    )  # fmt: skip
    assert full.exit_code == 2
    assert "Manager" in full.stdout


def test_both_together_show_only_the_drift_in_every_format(
    tmp_path: Path, applied: BackgroundServer
) -> None:
    """A live edit and a manifest edit of the same contact: only the drifted field shows, in
    text, JSON (every field's cause is drift, flagged drift_only) and markdown."""
    _edit_live(applied, "person-0001", "Mallory")
    write_tree(tmp_path / "m", range(4), title="Manager")
    text = _plan(tmp_path, applied)
    assert text.exit_code == 2, text.output
    assert "Manager" not in text.stdout
    assert "person-0003" not in text.stdout
    as_json = _plan(tmp_path, applied, "-o", "json")
    assert as_json.exit_code == 2, as_json.output
    view = json.loads(as_json.stdout)
    assert view["drift_only"] is True
    assert [(c["name"], c["action"]) for c in view["changes"]] == [("person-0001", "update")]
    [change] = view["changes"]
    assert [(f["field"], f["cause"]) for f in change["fields"]] == [("names", "drift")]
    assert view["kept"] == []
    markdown = _plan(tmp_path, applied, "-o", "markdown")
    assert markdown.exit_code == 2, markdown.output
    assert markdown.stdout.startswith("### Contacts drift")
    assert "**Drift-only plan: 1 contact(s) changed live" in markdown.stdout
    assert "Manager" not in markdown.stdout
    assert "person-0003" not in markdown.stdout


def test_a_drift_only_plan_cannot_be_saved(tmp_path: Path, applied: BackgroundServer) -> None:
    """--drift-only with --out is a usage error (exit 2 from click) and writes no file."""
    _edit_live(applied, "person-0001", "Mallory")
    refused = invoke(
        "plan", "--target", applied.url, "--token", "user:alice", "--drift-only", "--out",
        "plan.json", "m", cwd=tmp_path,
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "--drift-only cannot be combined with --out" in refused.output
    assert not (tmp_path / "plan.json").exists()
