"""An in-process emulator and a client that share one manual clock.

Quota windows, backoff and settle times then pass in no real time at all, so chaos tests with
429s and retries stay fast, while every request still goes through the real client and the real
emulator app.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.executor import ExecutorSettings
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.results import ApplyResult
from reconciler.clock import ManualClock
from reconciler.emulator.app import create_app
from reconciler.emulator.config import EmulatorConfig
from reconciler.model import DesiredState
from reconciler.people import connect
from reconciler.people.client import PeopleClient
from reconciler.plan.options import PlanOptions

USER = "alice@example.com"
TOKEN = f"user:{USER}"


@dataclass
class World:
    """An emulator, a client to it, and a journal directory."""

    app: Any
    client: PeopleClient
    clock: ManualClock
    journal_path: Path
    seed: int = 7  # the emulator's and the retry jitter's

    @property
    def emulator(self) -> Any:
        return self.app.state.emulator

    def configure(self, **knobs: Any) -> None:
        self.emulator.configure(knobs)

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            response = await http.request(method, f"/__emulator/{path}", json=body)
            response.raise_for_status()
            return response.json()

    async def people(self) -> list[dict[str, Any]]:
        dump = await self.admin("GET", "dump")
        return list(dump["users"].get(USER, {}).get("people", []))

    async def edit(self, resource_name: str, person: dict[str, Any], mask: str) -> None:
        await self.admin(
            "POST",
            "edit",
            {
                "user": USER,
                "resourceName": resource_name,
                "person": person,
                "updatePersonFields": mask,
            },
        )

    def settings(self, **plan: Any) -> ApplySettings:
        return ApplySettings(
            plan=PlanOptions(**plan),
            executor=ExecutorSettings(max_attempts=6, base_delay=0.5, settle=5.0),
        )

    async def apply(
        self,
        desired: DesiredState,
        gateway: Any = None,
        *,
        rng: random.Random | None = None,
        **plan: Any,
    ) -> ApplyResult:
        """Converge to ``desired``; retry jitter from ``rng`` (seeded: the same waits every run)."""
        with CreateJournal(self.journal_path, clock=self.clock.now) as journal:
            return await converge(
                gateway or ClientGateway(self.client),
                journal,
                desired,
                self.settings(**plan),
                sleep=self.clock.sleep,
                clock=self.clock.now,
                rng=rng or random.Random(self.seed),
            )


class SteppingClock(ManualClock):
    """A manual clock whose every sleep moves time by at least a millisecond, so that a loop
    waiting for a sub-ulp amount of time (float rounding in a token bucket) still progresses."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(max(seconds, 0.001))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = SteppingClock(start=1_000.0)
    app = create_app(EmulatorConfig(seed=7), clock=clock)
    async with connect("embedded", app=app, token=TOKEN, clock=clock) as client:
        yield World(app, client, clock, tmp_path / "creates.jsonl")
