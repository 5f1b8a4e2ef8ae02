"""Truthful probes, and a withheld mass deletion that withholds only itself.

The real controller runs in-process against the emulator over HTTP; /readyz and /metrics are
read over HTTP as the kubelet and Prometheus would. Readiness must drop, with the reason in
its body, while an account's manifests are broken, while its API calls have been failing past
the grace period, and while deletions are withheld; ``reconciler_ready`` follows; liveness only
reports a stalled event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from reconciler.cli.options import option_flags
from reconciler.cli.run import run
from reconciler.controller.account import Intervals
from reconciler.controller.accounts import AccountsConfig, DriftPolicy, single_account
from reconciler.controller.health import Health
from reconciler.controller.runner import RunSettings, run_controller
from reconciler.statedir import StateDir
from tests.support.eventually import eventually_async
from tests.support.pacing import ROOMY_PACING

USER = "alice@example.com"


def contact(name: str, given: str) -> str:
    return (
        f"apiVersion: reconciler/v1\nkind: Contact\nmetadata: {{name: {name}}}\n"
        f"spec:\n  names: [{{givenName: {given}}}]\n"
    )


def contacts(*pairs: tuple[str, str]) -> str:
    return "---\n".join(contact(name, given) for name, given in pairs)


class Running:
    """A controller run in-process, its probes, metrics and log events."""

    def __init__(self, logs: list[Any], emulator: httpx.AsyncClient) -> None:
        self.logs: list[Any] = logs
        self.emulator = emulator
        self.http = httpx.AsyncClient(timeout=10)

    def address(self, path: str) -> str:
        for event in self.logs:
            if event["event"] == "serving" and path in event["paths"]:
                return str(event["address"]).replace("0.0.0.0", "127.0.0.1") + path
        raise AssertionError(f"{path} is not served yet")

    async def readyz(self) -> tuple[int, str]:
        response = await self.http.get(self.address("/readyz"))
        return response.status_code, response.text

    async def metric(self, line_start: str) -> float | None:
        text = (await self.http.get(self.address("/metrics"))).text
        for line in text.splitlines():
            if line.startswith(line_start + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    async def given_names(self) -> dict[str, str]:
        users = (await self.emulator.get("/__emulator/dump")).json()["users"]
        found: dict[str, str] = {}
        for person in users.get(USER, {}).get("people", []):
            stamp = {e["key"]: e["value"] for e in person.get("clientData", [])}
            found[stamp["reconciler.name"]] = person["names"][0]["givenName"]
        return found

    async def wait(self, check: Callable[[], Any], what: str) -> Any:
        async def checked() -> Any:
            return await check()

        return await eventually_async(checked, what)


@asynccontextmanager
async def controller(
    manifests: Path, tmp_path: Path, url: str, **overrides: Any
) -> AsyncIterator[Running]:
    config: AccountsConfig = single_account(
        [manifests], owner="ops", drift_policy=DriftPolicy.CORRECT, subject=USER
    )
    settings = RunSettings(
        target=url,
        state_dir=StateDir.at(tmp_path / "state"),
        intervals=Intervals(poll=0.2, resync=3600, debounce=0.1, backoff_cap=1.0),
        health_addr="127.0.0.1:0",
        metrics_addr="127.0.0.1:0",
        flags=option_flags(run),  # as 'reconciler run' passes them: hints name its options
        pacing=ROOMY_PACING,
        **overrides,
    )
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = asyncio.create_task(run_controller(config, settings, stop=stop))
        async with httpx.AsyncClient(base_url=url, timeout=10) as emulator:
            running = Running(logs, emulator)
            try:
                yield running
            finally:
                stop.set()
                await running.http.aclose()
                assert await asyncio.wait_for(task, 60) == 0


def ready_metric(label: str) -> str:
    return f'reconciler_ready{{account="{label}"}}'


async def test_readiness_drops_with_its_reason_while_manifests_are_broken_or_the_api_fails(
    tmp_path: Path, emulator_server: Any
) -> None:
    """Ready after the first pass; broken manifests, then 100% API errors past the grace
    period, each make /readyz answer 503 naming the account and the reason, and
    reconciler_ready 0; fixing each makes it ready again."""
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "a.yaml").write_text(contact("a", "Ann"))
    label = (
        single_account([manifests], owner="ops", drift_policy=DriftPolicy.CORRECT, subject=USER)
        .accounts[0]
        .label
    )
    async with controller(manifests, tmp_path, emulator_server.url, api_grace=0.5) as run:

        async def ready() -> bool:
            return (await run.readyz())[0] == 200 and await run.metric(ready_metric(label)) == 1

        async def unready_because(reason: str) -> bool:
            status, body = await run.readyz()
            return (
                status == 503
                and reason in body
                and label in body
                and await run.metric(ready_metric(label)) == 0
            )

        await run.wait(ready, "the first pass to make it ready")

        (manifests / "a.yaml").write_text("apiVersion: reconciler/v1\nkind: Contact\nmetadata: [\n")
        await run.wait(lambda: unready_because("manifests are broken"), "broken manifests")
        (manifests / "a.yaml").write_text(contact("a", "Anne"))
        await run.wait(ready, "ready again once fixed")

        await run.emulator.patch("/__emulator/config", json={"error_rate": 1.0})
        await run.wait(lambda: unready_because("have been failing for"), "the API failing")
        await run.emulator.patch("/__emulator/config", json={"error_rate": 0.0})
        await run.wait(ready, "ready again once the API answers")
        assert USER not in (await run.readyz())[1]
        assert USER not in (await run.http.get(run.address("/metrics"))).text


async def test_a_withheld_mass_delete_withholds_only_itself(
    tmp_path: Path, emulator_server: Any
) -> None:
    """A revision that removes a file of 12 contacts (over --max-deletes 5), adds one contact
    and edits another: one pass creates and edits, the deletions are withheld and reported in
    the log, the metric and the readiness body, with the exact override."""
    manifests = tmp_path / "m"
    manifests.mkdir()
    (manifests / "big.yaml").write_text(contacts(*[(f"big-{n}", f"Big{n}") for n in range(12)]))
    (manifests / "small.yaml").write_text(contacts(("x", "Xavier"), ("y", "Yann")))
    label = (
        single_account([manifests], owner="ops", drift_policy=DriftPolicy.CORRECT, subject=USER)
        .accounts[0]
        .label
    )
    async with controller(
        manifests, tmp_path, emulator_server.url, prune=True, max_deletes=5
    ) as run:

        async def first_converged() -> bool:
            return len(await run.given_names()) == 14 and (await run.readyz())[0] == 200

        await run.wait(first_converged, "the first revision to converge")
        passes_before = len([e for e in run.logs if e["event"] == "pass finished"])
        (manifests / "big.yaml").unlink()
        (manifests / "small.yaml").write_text(
            contacts(("x", "Xavier"), ("y", "Yvonne"), ("z", "Zoe"))
        )

        async def next_pass() -> dict[str, Any] | None:
            finished = [e for e in run.logs if e["event"] in ("pass finished", "pass incomplete")]
            return finished[passes_before] if len(finished) > passes_before else None

        first = await run.wait(next_pass, "the pass after the change")
        assert first["event"] == "pass finished"
        assert (first["created"], first["updated"], first["deleted"]) == (1, 1, 0)
        names = await run.given_names()
        assert names["y"] == "Yvonne"
        assert names["z"] == "Zoe"
        assert sum(1 for name in names if name.startswith("big-")) == 12

        withheld = [e for e in run.logs if e["event"] == "deletions withheld"]
        assert withheld[0]["count"] == 12
        assert "--allow-mass-delete" in withheld[0]["override"]
        status, body = await run.readyz()
        assert status == 503
        assert f"{label}: 12 deletions withheld" in body
        assert "--allow-mass-delete" in body
        assert await run.metric(f'reconciler_deletes_withheld{{account="{label}"}}') == 12
        assert await run.metric(ready_metric(label)) == 0


def test_liveness_reports_only_a_stalled_event_loop(clock: Any) -> None:
    """/healthz fails when the heartbeat is stale, and for nothing else: not for broken
    manifests, failing API calls or withheld deletions (a restart cures none of them)."""
    health = Health(clock=clock, stale_after=30, api_grace=5)
    health.expect("acct")
    assert health.liveness() == (True, "starting")
    health.beat()
    health.manifests_loaded("acct", 3)
    health.api_failed("acct", "pass", "HTTP 503")
    health.blocked("acct", "12 deletions withheld")
    clock.advance(10)
    health.beat()
    assert health.liveness() == (True, "ok")
    assert not health.readiness()[0]
    clock.advance(31)
    alive, why = health.liveness()
    assert not alive
    assert "stalled" in why


@pytest.mark.parametrize("source", ["pass", "poll"])
def test_a_failure_makes_the_account_unready_only_past_the_grace_period(
    clock: Any, source: str
) -> None:
    """A failing pass or poll is tolerated for api_grace seconds, then named with its error;
    a success of the same kind clears it."""
    health = Health(clock=clock, api_grace=20)
    health.mark_ready("acct")
    health.api_failed("acct", source, "HTTP 503: unavailable")
    clock.advance(19)
    health.api_failed("acct", source, "HTTP 503: still unavailable")
    assert health.readiness() == (True, "ok")
    clock.advance(2)
    ready, why = health.readiness()
    assert not ready
    assert why == f"acct: {source}es have been failing for 21s: HTTP 503: still unavailable"
    health.api_succeeded("acct", source)
    assert health.readiness() == (True, "ok")
