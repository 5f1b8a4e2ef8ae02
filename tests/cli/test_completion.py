"""Shell completion works as the README documents it (click's ``_RECONCILER_COMPLETE``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def complete(shell: str, words: str, cword: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "_RECONCILER_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    return subprocess.run(
        [sys.executable, "-c", "from reconciler.cli import main; main(prog_name='reconciler')"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_source_line_prints_a_completion_script(shell: str) -> None:
    """eval "$(_RECONCILER_COMPLETE=bash_source reconciler)" has a script to evaluate."""
    result = subprocess.run(
        [sys.executable, "-c", "from reconciler.cli import main; main(prog_name='reconciler')"],
        env={**os.environ, "_RECONCILER_COMPLETE": f"{shell}_source"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "_RECONCILER_COMPLETE" in result.stdout


def test_commands_and_flags_complete() -> None:
    """Lazily imported commands still complete, and so do their flags."""
    commands = complete("bash", "reconciler im", 1)
    assert "plain,import" in commands.stdout.split()
    flags = complete("bash", "reconciler export --for", 2)
    assert "plain,--format" in flags.stdout.split()
