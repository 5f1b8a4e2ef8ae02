"""The controller process: accounts in parallel, probes and metrics, and a graceful stop.

Each account gets its own client, create journal (which doubles as the account's write lock, so
a concurrent ``reconciler apply`` cannot become a second writer), poller and worker; accounts run
side by side on one event loop. SIGTERM (or SIGINT) stops every source, lets each in-flight pass
finish, and returns 0; a pass still running after ``shutdown_timeout`` is cancelled, which is safe
because the next start is a full pass and the create journal survives.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from reconciler.apply.engine import ApplySettings
from reconciler.apply.executor import ExecutorSettings
from reconciler.apply.journal import CreateJournal, JournalLocked, journal_path
from reconciler.clock import SystemClock
from reconciler.controller.account import AccountWorker, Intervals
from reconciler.controller.accounts import Account, AccountsConfig
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore, load_manifests
from reconciler.controller.health import Health
from reconciler.controller.metrics import CONTENT_TYPE, Metrics
from reconciler.controller.polling import LivePoller
from reconciler.controller.serving import Response, Route, SmallHttpServer, parse_addr
from reconciler.controller.sharding import SINGLE, Shard
from reconciler.plan.options import PlanOptions

__all__ = ["RunSettings", "run_controller"]

_log = structlog.get_logger("reconciler.controller")

CONTROLLER_RETRIES = ExecutorSettings(max_attempts=3, base_delay=0.25, max_delay=2.0)
"""Fewer, shorter in-pass retries than a one-shot apply: a pass holds the account's only
writer, so what is still contended after a few tries goes back to the work queue (per-key
backoff, up to minutes) and every other key proceeds."""


@dataclass(frozen=True)
class RunSettings:
    """Everything ``reconciler run`` was told on the command line."""

    target: str = "embedded"
    token: str | None = None
    state: str = ".reconciler/embedded.sqlite3"
    credentials: str | None = None
    default_region: str = "US"  # of phone numbers written without +country
    intervals: Intervals = field(default_factory=Intervals)
    health_addr: str = ":8081"
    metrics_addr: str = ":8080"
    shard: Shard = SINGLE
    prune: bool = False
    suspend: bool = False
    shutdown_timeout: float = 30.0


def _token_for(account: Account, settings: RunSettings) -> str | None:
    """The bearer token of an account on an emulator target: the flag, else ``user:<subject>``."""
    if settings.token or settings.target == "google":
        return settings.token
    return f"user:{account.subject}" if account.subject else None


@contextlib.asynccontextmanager
async def _serving(
    metrics: Metrics, health: Health, settings: RunSettings
) -> AsyncIterator[list[SmallHttpServer]]:
    """Start the probe and metrics servers (one server when both addresses are the same)."""

    def probe(check: Any) -> Route:
        def route() -> Response:
            ok, why = check()
            return Response(200 if ok else 503, f"{why}\n".encode())

        return route

    routes: dict[str, dict[str, Route]] = {}
    health_at, metrics_at = parse_addr(settings.health_addr), parse_addr(settings.metrics_addr)
    if health_at is not None:
        routes.setdefault(settings.health_addr, {}).update(
            {"/healthz": probe(health.liveness), "/readyz": probe(health.readiness)}
        )
    if metrics_at is not None:
        routes.setdefault(settings.metrics_addr, {})["/metrics"] = lambda: Response(
            200, metrics.exposition(), CONTENT_TYPE
        )
    servers: list[SmallHttpServer] = []
    try:
        for addr, table in routes.items():
            host, port = parse_addr(addr) or ("", 0)
            server = SmallHttpServer(table)
            bound_host, bound_port = await server.start(host, port)
            servers.append(server)
            _log.info("serving", paths=sorted(table), address=f"http://{bound_host}:{bound_port}")
        yield servers
    finally:
        for server in servers:
            await server.close()


async def _heartbeat(health: Health) -> None:
    while True:
        health.beat()
        await asyncio.sleep(1.0)


async def _open_account(
    stack: AsyncExitStack,
    account: Account,
    settings: RunSettings,
    *,
    metrics: Metrics,
    health: Health,
    suspended: bool,
    app: Any,
) -> AccountWorker:
    from reconciler.people import connect  # the HTTP stack loads only when running

    client = await stack.enter_async_context(
        connect(
            settings.target,
            token=_token_for(account, settings),
            state=settings.state,
            subject=account.subject,
            credentials=settings.credentials,
            app=app,
        )
    )
    state_dir = Path(settings.state).parent
    journal = stack.enter_context(
        CreateJournal(
            journal_path(
                state_dir, target=settings.target, account=client.account, owner=account.owner
            )
        )
    )
    metrics.track_api_requests(account.key, lambda: client.stats.by_method_status)
    clock = SystemClock()  # one timeline for the worker's queue and its passes' retry times
    backend = ApplyBackend(
        client,
        journal,
        ApplySettings(
            plan=PlanOptions(
                owner=account.owner, prune=settings.prune, default_region=settings.default_region
            ),
            executor=CONTROLLER_RETRIES,
        ),
        clock=clock,
    )
    return AccountWorker(
        account,
        backend,
        poller=LivePoller(client, account.owner, written=backend.written),
        store=DesiredStore(
            account.manifests,
            loader=functools.partial(load_manifests, default_region=settings.default_region),
        ),
        metrics=metrics,
        health=health,
        intervals=settings.intervals,
        clock=clock,
        suspended=suspended,
    )


async def run_controller(
    config: AccountsConfig, settings: RunSettings, *, stop: asyncio.Event | None = None
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``); return the exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    accounts = [a for a in config.accounts if settings.shard.owns(a.key)]
    if not accounts:
        _log.warning("no account belongs to this shard", shard=str(settings.shard))
    suspended = config.suspend or settings.suspend
    _log.info(
        "controller starting",
        accounts=len(accounts),
        shard=str(settings.shard),
        suspended=suspended,
        target=settings.target if "://" not in settings.target else "http",
    )
    metrics, health = Metrics(), Health()
    app: Any = None
    if settings.target == "embedded":  # one in-process emulator for every account
        from reconciler.emulator import create_app

        Path(settings.state).parent.mkdir(parents=True, exist_ok=True)
        app = create_app(state_path=settings.state)
    try:
        async with _serving(metrics, health, settings), AsyncExitStack() as stack:
            try:
                workers = [
                    await _open_account(
                        stack,
                        a,
                        settings,
                        metrics=metrics,
                        health=health,
                        suspended=suspended,
                        app=app,
                    )
                    for a in accounts
                ]
            except JournalLocked as error:
                _log.error("another writer holds an account; stop it or wait", error=str(error))
                return 1
            return await _supervise(workers, health, stop, settings.shutdown_timeout)
    except OSError as error:  # a probe or metrics address that cannot be bound
        _log.error("cannot serve probes or metrics", error=f"{type(error).__name__}: {error}")
        return 1
    finally:
        persistence = getattr(
            getattr(getattr(app, "state", None), "emulator", None), "persistence", None
        )
        if persistence is not None:
            persistence.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


async def _supervise(
    workers: list[AccountWorker], health: Health, stop: asyncio.Event, drain_bound: float
) -> int:
    """Run the workers until ``stop``; then drain them within ``drain_bound`` seconds."""
    tasks = [asyncio.create_task(w.run(), name=f"account:{w.account.key}") for w in workers]
    heartbeat = asyncio.create_task(_heartbeat(health))
    stopping = asyncio.create_task(stop.wait())
    code = 0
    try:
        done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopping and task.exception() is not None:
                code = 1
                _log.error(
                    "account worker crashed", task=task.get_name(), error=repr(task.exception())
                )
        _log.info("shutting down: finishing in-flight passes", bound=drain_bound)
        for worker in workers:
            worker.shut_down()
        _, pending = await asyncio.wait(tasks, timeout=drain_bound) if tasks else (set(), set())
        for task in pending:
            _log.warning("pass cancelled at the shutdown bound", task=task.get_name())
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _log.info("controller stopped")
        return code
    finally:
        heartbeat.cancel()
        stopping.cancel()
        await asyncio.gather(heartbeat, stopping, return_exceptions=True)
