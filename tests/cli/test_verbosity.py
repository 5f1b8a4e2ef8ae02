"""-q and -v, before or after the command name: stderr says less or more, stdout stays."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main

CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
    "spec:\n  emailAddresses: [ann@example.com]\n  sipAddresses: [sip:ann@example.com]\n"
)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def state(tmp_path: Path) -> str:
    """An embedded address book holding one contact with a field vCard cannot hold."""
    (tmp_path / "ann.yaml").write_text(CONTACT)
    path = str(tmp_path / "s.db")
    applied = run("apply", "--auto-approve", "--state", path, str(tmp_path / "ann.yaml"))
    assert applied.exit_code == 0, applied.output
    return path


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_leaves_only_errors_on_stderr(state: str, where: str) -> None:
    """The warning about sipAddresses goes with -q; the vCard on stdout does not."""
    args = ["export", "--state", state, "--format", "vcard"]
    loud = run(*args)
    assert "warning: ann: sipAddresses only in X-RECONCILER-FIELDS" in loud.stderr
    quiet = run("-q", *args) if where == "before" else run(*args, "-q")
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout
    assert quiet.stdout.startswith("BEGIN:VCARD")


def test_verbose_twice_shows_debug_logs(state: str) -> None:
    """-vv adds the client's debug events (method and status, never a contact's body)."""
    normal = run("export", "--state", state, "--format", "vcard")
    assert "people.request" not in normal.stderr
    debug = run("export", "-vv", "--state", state, "--format", "vcard")
    assert "people.request" in debug.stderr
    assert "ann@example.com" not in debug.stderr
