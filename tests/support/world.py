"""The apply tests' world: an in-process emulator and a client that share one manual clock.

Quota windows, backoff and settle times then pass in no real time at all, so chaos tests with
429s and retries stay fast, while every request still goes through the real client and the real
emulator app. The ``world`` fixture (``tests/apply/conftest.py``) builds one per test.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.executor import ExecutorSettings, ItemResult
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal
from reconciler.apply.results import ApplyResult
from reconciler.clock import ManualClock
from reconciler.model import DesiredState, read_stamp
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

    def journal(self) -> CreateJournal:
        """The account's create journal, dated on the world's clock like the engine's times."""
        return CreateJournal(self.journal_path, clock=self.clock)

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
        with self.journal() as journal:
            return await converge(
                gateway or ClientGateway(self.client),
                journal,
                desired,
                self.settings(**plan),
                clock=self.clock,
                rng=rng or random.Random(self.seed),
            )


class SteppingClock(ManualClock):
    """A manual clock whose every sleep moves time by at least a millisecond, so that a loop
    waiting for a sub-ulp amount of time (float rounding in a token bucket) still progresses."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(max(seconds, 0.001))


Hook = Callable[[], Awaitable[None]]


class EditingGateway(ClientGateway):
    """Runs ``hook`` (out-of-band edits) after the plan was made, right before our first update."""

    def __init__(self, client: PeopleClient, hook: Hook) -> None:
        super().__init__(client)
        self.hook: Hook | None = hook

    async def batch_update(
        self, bodies: Mapping[str, dict[str, Any]], mask: Sequence[str]
    ) -> dict[str, ItemResult]:
        if self.hook is not None:
            hook, self.hook = self.hook, None
            await hook()
        return await super().batch_update(bodies, mask)


def by_name(people: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for person in people:
        stamp = read_stamp(person.get("clientData"))
        if stamp is not None:
            out[stamp.name] = person
    return out
