"""Fixtures for the apply tests: a fresh world (emulator, client, manual clock) per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reconciler.emulator.app import create_app
from reconciler.emulator.config import EmulatorConfig
from reconciler.people import connect
from tests.support.world import TOKEN, SteppingClock, World


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = SteppingClock(start=1_000.0)
    app = create_app(EmulatorConfig(seed=7), clock=clock)
    async with connect("embedded", app=app, token=TOKEN, clock=clock) as client:
        yield World(app, client, clock, tmp_path / "creates.jsonl")
