"""A pass backend that records what the account worker asks of it, for the controller's tests
of the worker's decisions (the apply layer itself is tested apart, and end to end)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping

from reconciler.apply.engine import Steering
from reconciler.apply.results import ApplyResult, ObjectResult, Outcome
from reconciler.model import DesiredState
from reconciler.plan.model import Plan, PlanItem


class Backend:
    """Records passes; answers each apply with the next queued result (default: all unchanged)."""

    def __init__(self) -> None:
        self.withheld_deletes = 0
        self.withheld_why = ""
        self.paced_seconds = 0.0
        self.urgent = False
        self.urgency: list[bool] = []  # whether each apply ran urgent
        self.steering: list[Steering] = []  # how each apply was steered
        self.applied: list[tuple[DesiredState, frozenset[str]]] = []
        self.planned: list[DesiredState] = []
        self.answers: list[ApplyResult | Exception] = []
        self.plan_items: list[PlanItem] = []
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.idle: list[float | None] = []  # what each pause between passes was told

    async def apply(
        self,
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
        on_plan: Callable[[Plan], None] | None = None,
        steering: Steering | None = None,
    ) -> ApplyResult:
        self.applied.append((desired, frozenset(suspended)))
        self.urgency.append(self.urgent)
        self.steering.append(steering or Steering())
        if on_plan is not None:
            on_plan(Plan(owner="o", items=tuple(self.plan_items), waves=()))
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        result = ApplyResult()
        for c in desired.contacts:
            result.record(ObjectResult("contact", c.name, Outcome.UNCHANGED))
        return result

    async def plan(
        self,
        desired: DesiredState,
        suspended: Iterable[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Plan:
        self.planned.append(desired)
        return Plan(owner="o", items=tuple(self.plan_items), waves=())

    def between_passes(self, next_pass_in: float | None) -> None:
        self.idle.append(next_pass_in)
