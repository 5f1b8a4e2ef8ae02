"""What `plan` says about the state of the address book: the revision it planned from, and
orphans (contacts we manage whose manifest is gone) as out of sync."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import invoke
from tests.support.manifests import write_tree

COMMIT = "0f" * 20


def checkout(root: Path) -> Path:
    """A manifest tree inside a git checkout whose HEAD is ``COMMIT`` on branch main."""
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(COMMIT + "\n")
    return write_tree(root / "m", range(2))


def test_plans_and_saved_plans_name_the_manifests_revision(tmp_path: Path) -> None:
    """Text, JSON and markdown plans and the saved plan name the commit they were made from."""
    checkout(tmp_path)
    text = invoke("plan", "m", cwd=tmp_path)
    assert text.exit_code == 0, text.output
    assert f"Manifests revision: {COMMIT}" in text.stdout
    as_json = invoke("plan", "-o", "json", "--out", "plan.json", "m", cwd=tmp_path)
    assert json.loads(as_json.stdout)["revision"] == COMMIT
    assert json.loads((tmp_path / "plan.json").read_text())["revision"] == COMMIT
    markdown = invoke("plan", "-o", "markdown", "m", cwd=tmp_path)
    assert COMMIT in markdown.stdout


def test_orphans_are_out_of_sync_in_the_summary_and_the_exit_code(tmp_path: Path) -> None:
    """With pruning off, a managed contact whose manifest is gone is counted in the summary
    line and makes --detailed-exitcode exit 2, instead of "No changes" and 0."""
    write_tree(tmp_path / "m", range(3))
    assert invoke("apply", "--auto-approve", "m", cwd=tmp_path).exit_code == 0
    write_tree(tmp_path / "m", range(2))
    planned = invoke("plan", "--detailed-exitcode", "m", cwd=tmp_path)
    assert planned.exit_code == 2, planned.output
    assert "No changes" not in planned.stdout
    assert planned.stdout.rstrip().splitlines()[-1] == (
        "Plan: 0 to add, 0 to change, 0 to destroy, 1 orphaned."
    )
    view = json.loads(invoke("plan", "-o", "json", "m", cwd=tmp_path).stdout)
    assert view["summary"]["orphaned"] == 1
    assert [k["name"] for k in view["kept"] if k["orphan"]] == ["person-0002"]
