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


def fork_cli(args: Sequence[str]) -> int:
    """Run ``reconciler ARGS`` in a forked child (output discarded); returns the child's pid.
    The arguments are taken as given: the crash tests kill ``apply`` at random points of its
    real, paced run."""
    from reconciler.cli import main

    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            main(list(args), standalone_mode=True)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
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
