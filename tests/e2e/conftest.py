"""Fixtures for the end-to-end tests: the emulator in its own process, over HTTP.

``http_emulator`` serves the emulator from its own ``reconciler emulator`` process, so that the
test process holds no threads and can fork CLI children cheaply.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.cli import ROOT, HttpEmulator
from tests.support.eventually import LIMIT


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
        process.wait(timeout=LIMIT)
