"""Shared fixtures: the People API emulator, in process and over real HTTP.

``emulator_app`` is a fresh in-memory emulator app (drive it with ``httpx.ASGITransport``);
``emulator_server`` serves a fresh one with uvicorn on 127.0.0.1 at a random port and has
``.url`` and ``.app``. Knobs can be changed on either through ``PATCH /__emulator/config`` or
``app.state.emulator.configure({...})``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from starlette.applications import Starlette

from reconciler.emulator import BackgroundServer, EmulatorConfig, create_app


@pytest.fixture
def emulator_app() -> Starlette:
    """A fresh in-memory emulator with every knob off."""
    return create_app(EmulatorConfig())


@pytest.fixture
def emulator_server() -> Iterator[BackgroundServer]:
    """A fresh emulator served over HTTP on 127.0.0.1 (``.url``, ``.app``)."""
    with BackgroundServer(create_app(EmulatorConfig())) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Each test starts from structlog's defaults.

    Commands under test configure structlog globally (a level filter, a renderer); left in
    place, a level filter from one test would hide another test's debug events from
    ``structlog.testing.capture_logs``.
    """
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own ``$XDG_STATE_HOME`` (and no ``RECONCILER_STATE_DIR``), so that no
    test reads or writes the real per-user state directory or another test's journal."""
    home = tmp_path_factory.mktemp("xdg-state")
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    monkeypatch.delenv("RECONCILER_STATE_DIR", raising=False)
    return home
