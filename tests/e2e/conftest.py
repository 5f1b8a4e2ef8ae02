"""Run the real ``reconciler`` CLI: as a subprocess, or forked from this process.

``http_emulator`` serves the emulator from its own ``reconciler emulator`` process, so that the
test process holds no threads and can fork CLI children cheaply (a fork starts in milliseconds
where a fresh interpreter needs a second to import everything).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def reconciler(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``reconciler ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


def fork_cli(args: Sequence[str]) -> int:
    """Run ``reconciler ARGS`` in a forked child (output discarded); returns the child's pid."""
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
    """``reconciler ARGS`` in this process through click's runner (stdin is not a terminal)."""
    from click.testing import CliRunner

    from reconciler.cli import main

    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
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


@pytest.fixture
def http_emulator() -> Iterator[HttpEmulator]:
    """``reconciler emulator`` on 127.0.0.1 at a random port, with 20 ms latency per request
    and new contacts kept out of listings for 300 ms."""
    argv = [sys.executable, "-m", "reconciler", "emulator", "--port", "0"]
    argv += ["--latency-ms", "20", "--list-lag-ms", "300"]
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line, line
        yield HttpEmulator(line.rsplit(" ", 1)[1].strip(), process)
    finally:
        process.terminate()
        process.wait(timeout=30)
