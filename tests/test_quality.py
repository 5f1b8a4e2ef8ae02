"""The codebase stays lint-clean, type-checked and layered.

These run the real tools over the real tree, so a lint error, a type error or an import that
crosses a layer boundary fails the suite like any other bug.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    """Ruff's lint rules hold for the package, tests and benchmarks."""
    result = run(sys.executable, "-m", "ruff", "check", "reconciler", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_the_package() -> None:
    """Type hints are checked in strict mode."""
    result = run(sys.executable, "-m", "mypy", "--no-error-summary", "reconciler")
    assert result.returncode == 0, result.stdout + result.stderr


def test_layers_hold() -> None:
    """Only reconciler.people talks HTTP; the pure core imports nothing above it."""
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    result = run(lint_imports, "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
