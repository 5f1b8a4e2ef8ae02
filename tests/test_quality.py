"""The codebase stays lint-clean, formatted, type-checked and layered.

These run the real tools over the real tree, so a lint error, a type error or an import that
crosses a layer boundary fails the suite like any other bug. Each runs through
``sys.executable``, so the versions come from the environment the suite runs in (the lock in
``requirements/test.txt``) whether or not its bin directory is on PATH.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing() -> None:
    """Ruff's lint rules hold for the whole tree: package, tests, benchmarks and tools."""
    result = run("-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_changes_nothing() -> None:
    """Every file is as ``ruff format`` writes it, the README's check verbatim."""
    result = run("-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_the_package() -> None:
    """Type hints are checked in strict mode."""
    result = run("-m", "mypy", "--no-error-summary", "reconciler")
    assert result.returncode == 0, result.stdout + result.stderr


def test_layers_hold() -> None:
    """The import-linter contracts in pyproject.toml hold (import-linter has no ``-m`` entry)."""
    result = run(
        "-c",
        "import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(no_cache=True))",
    )
    assert result.returncode == 0, result.stdout + result.stderr
