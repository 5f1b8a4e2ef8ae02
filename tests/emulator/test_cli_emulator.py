"""``reconciler emulator`` as a user runs it: a real process, a real port, a real request."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.support.eventually import LIMIT

# Unset every RECONCILER_* variable a developer may have exported.
CLEAN_ENV: dict[str, str | None] = {k: None for k in os.environ if k.startswith("RECONCILER_")}
AUTH = {"authorization": "Bearer user:cli@example.com"}
STARTUP_TIMEOUT = 30.0


@contextmanager
def running(*flags: str) -> Iterator[str]:
    """Start ``reconciler emulator --port 0 FLAGS``, yield the URL it prints, then SIGTERM it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("RECONCILER_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    try:
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            pytest.fail("the emulator printed no URL")
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        assert match.group(1) != "0"
        yield match.group(0)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it.
    assert code in (0, -signal.SIGTERM), process.stderr.read() if process.stderr else code


def test_serves_the_api_on_the_printed_port_with_the_knobs_given() -> None:
    """With --port 0 the printed URL has the real port and the API answers there; every knob
    is a dashed flag and what was passed shows in /__emulator/config."""
    flags = ["--read-quota-per-minute", "7", "--error-rate", "0.25", "--latency-ms", "1"]
    with running(*flags, "--seed", "42", "--list-lag-ms", "5") as url:
        config = httpx.get(url + "/__emulator/config").json()
        httpx.patch(url + "/__emulator/config", json={"error_rate": 0}).raise_for_status()
        response = httpx.get(url + "/v1/contactGroups", headers=AUTH)
        assert response.status_code == 200
        names = [group["resourceName"] for group in response.json()["contactGroups"]]
        assert "contactGroups/myContacts" in names
        assert httpx.get(url + "/v1/contactGroups").status_code == 401
    assert config["read_quota_per_minute"] == 7
    assert config["error_rate"] == 0.25
    assert config["latency_ms"] == 1
    assert config["seed"] == 42
    assert config["list_lag_ms"] == 5
    assert config["write_quota_per_minute"] == 0


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    """A contact created before a restart with the same --state is there after it."""
    state = str(tmp_path / "emulator.sqlite3")
    with running("--state", state) as url:
        created = httpx.post(
            url + "/v1/people:createContact",
            json={"names": [{"givenName": "Persisted"}]},
            headers=AUTH,
        )
        assert created.status_code == 200
        name = created.json()["resourceName"]
    with running("--state", state) as url:
        fetched = httpx.get(url + f"/v1/{name}", params={"personFields": "names"}, headers=AUTH)
    assert fetched.status_code == 200
    assert fetched.json()["names"][0]["givenName"] == "Persisted"


def test_an_invalid_knob_is_a_usage_error_naming_the_flag() -> None:
    """A knob out of range stops the command with exit code 2 and names the flag."""
    result = CliRunner().invoke(main, ["emulator", "--error-rate", "2"], env=CLEAN_ENV)
    assert result.exit_code == 2
    assert "--error-rate" in result.output


def test_a_busy_port_is_a_usage_error_naming_the_address() -> None:
    """When the port is taken the command says which address it could not listen on."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["emulator", "--port", str(port)], env=CLEAN_ENV)
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
