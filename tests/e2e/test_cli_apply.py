"""The real CLI: apply converges, plan then reports nothing, errors write nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.cli import ROOT, invoke, reconciler
from tests.support.manifests import write_tree


def test_apply_then_plan_reports_no_changes(tmp_path: Path, state_home: Path) -> None:
    """`reconciler apply --auto-approve manifests/` with the repository's example manifests on
    the embedded emulator (default state file, in $XDG_STATE_HOME/reconciler and not in the
    working directory), then `reconciler plan --detailed-exitcode manifests/` exits 0."""
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    applied = reconciler("apply", "--auto-approve", "manifests/", cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "0 left" in applied.stdout
    assert (state_home / "reconciler" / "embedded.sqlite3").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifests"]
    planned = reconciler("plan", "--detailed-exitcode", "manifests/", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr


def test_state_dir_flag_and_environment_hold_the_embedded_book(tmp_path: Path) -> None:
    """`--state-dir DIR` (or RECONCILER_STATE_DIR) is where the embedded address book and the
    create journal live: a plan from another working directory with the same state directory
    sees what the apply wrote."""
    write_tree(tmp_path / "a" / "m", range(3))
    write_tree(tmp_path / "b" / "m", range(3))
    state = tmp_path / "state"
    assert (
        invoke(
            "apply", "--auto-approve", "--state-dir", str(state), "m", cwd=tmp_path / "a"
        ).exit_code
        == 0
    )
    assert (state / "embedded.sqlite3").is_file()
    assert list((state / "journals").glob("creates-*.jsonl"))
    planned = reconciler(
        "plan",
        "--detailed-exitcode",
        "m",
        cwd=tmp_path / "b",
        env={"RECONCILER_STATE_DIR": str(state)},
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes" in planned.stdout


def test_an_embedded_book_left_by_an_earlier_version_is_pointed_out(tmp_path: Path) -> None:
    """A `.reconciler/embedded.sqlite3` in the working directory (where earlier versions kept
    it) is not used silently: a note says where the state is now and how to keep the old."""
    write_tree(tmp_path / "m", range(2))
    (tmp_path / ".reconciler").mkdir()
    (tmp_path / ".reconciler" / "embedded.sqlite3").write_bytes(b"")
    planned = invoke("plan", "m", cwd=tmp_path)
    assert planned.exit_code == 0, planned.output
    assert "--state .reconciler/embedded.sqlite3" in planned.output


def test_manifest_errors_are_located_and_nothing_is_written(tmp_path: Path) -> None:
    """A bad manifest: its file:line:col is printed, exit 1, and no API call is made."""
    manifests = write_tree(tmp_path / "m", range(3))
    (manifests / "bad.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: x}\nspec:\n  nmes: []\n"
    )
    result = invoke("apply", "--auto-approve", "m", cwd=tmp_path)
    assert result.exit_code == 1
    assert "bad.yaml:5:" in result.output
    assert not (tmp_path / ".reconciler").exists()


def test_apply_off_a_terminal_needs_auto_approve(tmp_path: Path) -> None:
    """Without a terminal there is nobody to confirm: apply refuses unless --auto-approve."""
    write_tree(tmp_path / "m", range(2))
    result = invoke("apply", "m", cwd=tmp_path)
    assert result.exit_code == 1
    assert "--auto-approve" in result.output
    assert not (tmp_path / ".reconciler").exists()


def test_saved_plan_applies_only_items_whose_etag_still_holds(tmp_path: Path) -> None:
    """`plan --out` then `apply FILE`: applied once; applied again after the change it made,
    the item is refused (its etag changed) and apply exits non-zero listing it."""
    write_tree(tmp_path / "m", range(3))
    assert invoke("apply", "--auto-approve", "m", cwd=tmp_path).exit_code == 0
    write_tree(tmp_path / "m", range(3), title="Director")
    planned = invoke("plan", "--out", "plan.json", "-o", "json", "m", cwd=tmp_path)
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)["summary"]["change"] == 3
    first = invoke("apply", "--auto-approve", "plan.json", cwd=tmp_path)
    assert first.exit_code == 0, first.output
    second = invoke("apply", "--auto-approve", "plan.json", cwd=tmp_path)
    assert second.exit_code == 2
    assert "etag" in second.stdout
    assert "3 left" in second.stdout
    assert invoke("plan", "--detailed-exitcode", "m", cwd=tmp_path).exit_code == 0


def test_plan_formats_and_exit_codes(tmp_path: Path) -> None:
    """--detailed-exitcode says 2 while there are changes; markdown, compact and redacted views
    render; --redact hides the values but still names the fields."""
    write_tree(tmp_path / "m", range(2))
    text = invoke("plan", "--detailed-exitcode", "--compact", "m", cwd=tmp_path)
    assert text.exit_code == 2, text.output
    assert "person-0001" in text.stdout
    markdown = invoke("plan", "-o", "markdown", "--redact", "m", cwd=tmp_path)
    assert markdown.exit_code == 0, markdown.output
    assert "person1@example.com" not in markdown.stdout
    assert "emailAddresses" in markdown.stdout


def _on_a_terminal(args: list[str], cwd: Path, answer: bytes) -> tuple[int, str]:
    """Run ``reconciler ARGS`` on a pseudo-terminal, answering the confirmation prompt."""
    import os
    import pty
    import sys

    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.chdir(cwd)
        os.execvp(sys.executable, [sys.executable, "-m", "reconciler", *args])
    out, sent = b"", False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if not sent and b"Apply these changes?" in out:
            os.write(fd, answer)
            sent = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_on_a_terminal_apply_asks_and_a_no_writes_nothing(tmp_path: Path) -> None:
    """On a terminal the plan is shown and confirmed first; answering no changes nothing."""
    write_tree(tmp_path / "m", range(2))
    code, output = _on_a_terminal(["apply", "m"], tmp_path, b"n\n")
    assert code == 1
    assert "Plan: 4 to add" in output
    assert "cancelled" in output
    assert invoke("plan", "--detailed-exitcode", "m", cwd=tmp_path).exit_code == 2
