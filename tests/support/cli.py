"""Run the real ``reconciler`` CLI: as a subprocess, forked from this process, or in process.

Forking needs a process without threads: the end-to-end tests' ``http_emulator`` fixture serves
the emulator from its own ``reconciler emulator`` process for that reason (a fork starts in
milliseconds where a fresh interpreter needs a second to import everything).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.pacing import roomy

ROOT = Path(__file__).resolve().parents[2]


def reconciler(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``reconciler ARGS`` in a fresh interpreter (``run`` and ``apply`` with roomy per-user
    budgets: :mod:`tests.support.pacing`)."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *roomy(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


def fork_cli(args: Sequence[str], *, output: Path | None = None) -> int:
    """Run ``reconciler ARGS`` in a forked child; returns the child's pid. Its output goes to
    the end of the file ``output`` (None: discarded), for a failing test to show. The arguments
    are taken as given: the crash tests kill ``apply`` at random points of its real, paced
    run."""
    from reconciler.cli import main

    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            sink = os.open(output or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(sink, 1)
            os.dup2(sink, 2)
            # The parent's sys.stdout and sys.stderr may be a test runner's capture files.
            sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
            main(list(args), standalone_mode=True)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def invoke(*args: str, cwd: Path) -> Any:
    """``reconciler ARGS`` in this process through click's runner (stdin is not a terminal);
    ``run`` and ``apply`` with roomy per-user budgets (:mod:`tests.support.pacing`)."""
    from click.testing import CliRunner

    from reconciler.cli import main

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, roomy(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@dataclass
class HttpEmulator:
    url: str
    process: subprocess.Popen[str]

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/__emulator/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()
