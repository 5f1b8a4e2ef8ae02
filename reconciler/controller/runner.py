"""The controller process: accounts in parallel, probes and metrics, and a graceful stop.

Each account gets its own client (over the replica's one connection pool and pacer, see
:func:`reconciler.people.targets.open_replica`), create journal (in the state directory), write
lease (kept in the address book itself, so a concurrent ``reconciler apply`` on any machine cannot
become a second writer; taken only by passes that write and given back when the account goes idle,
see :mod:`reconciler.controller.leasing`), poller and worker; accounts run side by side on one event
loop, at most ``concurrent_passes`` passes at a time. Accounts are opened concurrently: opening
reads nothing but each account's profile (the same-address-book check of
:mod:`reconciler.controller.addressbooks`, which accounts joining later pass too) and takes no
lease; the accounts present at start all start once the last is open (the check must be
complete before anything is written), an account edited before it is open opens and starts
first (the fleet's opening line, see :mod:`reconciler.controller.fleet`). A lease another
writer holds keeps only that account waiting (its passes are requeued, and it is not ready
after ``lock_timeout``); a lease lost mid-pass stops that account's writing at once, and the
others carry on. SIGTERM (or SIGINT) stops
every source, lets each in-flight pass and poll finish, waits (as long again at most) until a
listing shows its creates, releases the leases and returns 0; a pass or poll still running after
``shutdown_timeout`` is cancelled, which is safe because the next start is a full pass and the
create journal survives.

Which accounts run is the roster's answer (:mod:`reconciler.controller.roster`: the file's
accounts and the users its directory entries select, cut to the shard); the running set is the
fleet (:mod:`reconciler.controller.fleet`), to which accounts are added and from which they are
removed while the controller runs, whenever a Directory refresh changes the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from reconciler.apply.engine import ApplySettings
from reconciler.apply.executor import ExecutorSettings
from reconciler.apply.journal import CreateJournal, JournalLocked
from reconciler.apply.lease import LEASE_TTL, claim
from reconciler.clock import SystemClock
from reconciler.controller.account import AccountWorker, Intervals
from reconciler.controller.accounts import Account, AccountsConfig
from reconciler.controller.addressbooks import AddressBooks, SharedAddressBook
from reconciler.controller.backend import ApplyBackend
from reconciler.controller.desired import DesiredStore, load_manifests
from reconciler.controller.events import Event
from reconciler.controller.fleet import Fleet
from reconciler.controller.health import Health
from reconciler.controller.metrics import CONTENT_TYPE, Metrics
from reconciler.controller.polling import LivePoller
from reconciler.controller.pollschedule import POLL_SHARE, PollSchedule
from reconciler.controller.roster import Roster, directory_asker
from reconciler.controller.serving import (
    PrefixRoute,
    Response,
    Route,
    SmallHttpServer,
    parse_addr,
)
from reconciler.controller.sharding import SINGLE, Shard
from reconciler.controller.slots import PassSlots
from reconciler.controller.status import AccountStatus, StatusBoard
from reconciler.controller.statusroutes import status_prefix_routes, status_routes
from reconciler.controller.watching import ReplicaWatcher, WatchState
from reconciler.people.pacing import PacingConfig
from reconciler.plan.options import PlanOptions
from reconciler.statedir import StateDir

if TYPE_CHECKING:
    from reconciler.people.client import PeopleClient

__all__ = ["RunSettings", "run_controller"]


class CannotServe(Exception):
    """A probe or metrics address could not be bound."""


class StateUnwritable(Exception):
    """The state directory (create journals, write locks) cannot be created or written."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(f"{path}: {error.strerror or error}")
        self.path = path


_log = structlog.get_logger("reconciler.controller")

CONTROLLER_RETRIES = ExecutorSettings(max_attempts=3, base_delay=0.25, max_delay=2.0)
"""Fewer, shorter in-pass retries than a one-shot apply: a pass holds the account's only
writer, so what is still contended after a few tries goes back to the work queue (per-key
backoff, up to minutes) and every other key proceeds."""


class Notifications(Protocol):
    """Where status transitions go (``reconciler.remote.notify.Notifier``)."""

    def submit(self, event: Event) -> None:
        """Take ``event`` without blocking."""
        ...

    async def run(self) -> None:
        """Deliver until cancelled."""
        ...

    async def drain(self) -> None:
        """Deliver what is queued."""
        ...


NOTIFY_DRAIN = 10.0
"""Seconds a stopping controller gives queued notifications before it exits."""


@dataclass(frozen=True)
class RunSettings:
    """Everything ``reconciler run`` was told on the command line."""

    target: str = "embedded"
    token: str | None = None
    state_dir: StateDir = field(default_factory=StateDir.at)  # journals, locks, embedded state
    credentials: str | None = None
    default_region: str = "US"  # of phone numbers written without +country
    intervals: Intervals = field(default_factory=Intervals)
    health_addr: str = ":8081"
    metrics_addr: str = ":8080"
    shard: Shard = SINGLE
    prune: bool = False
    max_deletes: int = PlanOptions.max_deletes
    max_delete_share: float = PlanOptions.max_delete_share
    allow_mass_delete: bool = False
    suspend: bool = False
    shutdown_timeout: float = 30.0
    api_grace: float = 20.0  # seconds of failing passes or polls before an account is unready
    lock_timeout: float = LEASE_TTL  # wait this long for another writer's lease at start
    concurrent_passes: int = 16  # passes in flight at once over every account of the replica
    # The budgets per account and per project, units a minute of each quota.
    pacing: PacingConfig = field(default_factory=PacingConfig)
    poll_share: float = POLL_SHARE  # of the project's reads, for the polls at most
    # How `reconciler run` spells its options (name -> flag), for hints in refusals.
    flags: Mapping[str, str] = field(default_factory=dict)


def _token_for(account: Account, settings: RunSettings) -> str | None:
    """The bearer token of an account on an emulator target: the flag, else ``user:<subject>``."""
    if settings.token or settings.target == "google":
        return settings.token
    return f"user:{account.subject}" if account.subject else None


@contextlib.asynccontextmanager
async def _serving(
    metrics: Metrics, health: Health, settings: RunSettings, board: StatusBoard
) -> AsyncIterator[list[SmallHttpServer]]:
    """Start the probe and metrics servers (one server when both addresses are the same); the
    status JSON and page are served beside the probes."""

    def probe(check: Any) -> Route:
        def route() -> Response:
            ok, why = check()
            return Response(200 if ok else 503, f"{why}\n".encode())

        return route

    routes: dict[str, dict[str, Route]] = {}
    prefixes: dict[str, dict[str, PrefixRoute]] = {}
    health_at, metrics_at = parse_addr(settings.health_addr), parse_addr(settings.metrics_addr)
    if health_at is not None:
        routes.setdefault(settings.health_addr, {}).update(
            {"/healthz": probe(health.liveness), "/readyz": probe(health.readiness)}
        )
        routes[settings.health_addr].update(status_routes(board))
        prefixes[settings.health_addr] = status_prefix_routes(board)
    if metrics_at is not None:
        routes.setdefault(settings.metrics_addr, {})["/metrics"] = lambda: Response(
            200, metrics.exposition(), CONTENT_TYPE
        )
    servers: list[SmallHttpServer] = []
    try:
        for addr, table in routes.items():
            host, port = parse_addr(addr) or ("", 0)
            server = SmallHttpServer(table, prefixes.get(addr))
            try:
                bound_host, bound_port = await server.start(host, port)
            except OSError as error:
                raise CannotServe(f"{addr}: {error.strerror or error}") from error
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


async def _connect(
    stack: AsyncExitStack, account: Account, settings: RunSettings, replica: Any
) -> PeopleClient:
    from reconciler.people import connect  # the HTTP stack loads only when running

    client: PeopleClient = await stack.enter_async_context(
        connect(
            settings.target,
            token=_token_for(account, settings),
            subject=account.subject,
            credentials=settings.credentials,
            replica=replica,
        )
    )
    return client


async def _open_account(
    stack: AsyncExitStack,
    account: Account,
    client: PeopleClient,
    settings: RunSettings,
    *,
    metrics: Metrics,
    health: Health,
    suspended: bool,
    status: AccountStatus,
    slots: PassSlots,
    watcher: ReplicaWatcher,
    polls: PollSchedule,
) -> AccountWorker:
    path = settings.state_dir.journal(
        target=settings.target, account=client.account, owner=account.owner
    )
    # One timeline for the worker's queue, its passes' retry times, its write lease, its
    # journal's entries and its live index.
    clock = SystemClock()
    try:  # the lease (instance id, local lock) and the journal keep files in the state dir
        lease = claim(
            client, settings.state_dir, target=settings.target, account=client.account,
            owner=account.owner, command="run", clock=clock,
        )  # fmt: skip
        lease.lock_path.parent.mkdir(parents=True, exist_ok=True)  # unwritable: fail now
        journal = stack.enter_context(CreateJournal(path, clock=clock))
    except OSError as error:
        raise StateUnwritable(settings.state_dir.root, error) from error
    metrics.track_api_requests(account.label, lambda: client.stats.by_method_status)
    backend = ApplyBackend(
        client,
        journal,
        ApplySettings(
            plan=PlanOptions(
                owner=account.owner,
                prune=settings.prune,
                default_region=settings.default_region,
                max_deletes=settings.max_deletes,
                max_delete_share=settings.max_delete_share,
                allow_mass_delete=settings.allow_mass_delete,
                # Over the caps, only the deletions wait; creates and edits still converge.
                withhold_mass_delete=True,
                drift_policy=account.drift_policy,
                flags=settings.flags,
            ),
            executor=CONTROLLER_RETRIES,
        ),
        clock=clock,
        lease=lease,
    )
    # Unwound before the journal closes: the lease is given back once a listing shows our
    # creates, so that a next writer elsewhere does not create them again.
    stack.push_async_callback(backend.close, settings.shutdown_timeout)
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
        slots=slots,
        status=status,
        watcher=watcher,
        polls=polls,
    )


def _watch_metrics(metrics: Metrics) -> Callable[[WatchState], None]:
    """The replica watcher's state as metrics; every report of a watch that is down is one
    more failure (readiness and /status ask the watcher themselves)."""

    def observe(state: WatchState) -> None:
        metrics.manifest_watch_up.set(1 if state.up else 0)
        if not state.up:
            metrics.manifest_watch_failures_total.inc()

    return observe


@contextlib.asynccontextmanager
async def _running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``work`` as a task for the block; cancelled on the way out."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _embedded_app(state: Path) -> Any:
    """One in-process emulator for every account, its state kept in ``state``."""
    from reconciler.emulator import create_app

    try:
        state.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StateUnwritable(state.parent.absolute(), error) from error
    return create_app(state_path=state)


async def run_controller(
    config: AccountsConfig,
    settings: RunSettings,
    *,
    stop: asyncio.Event | None = None,
    notifications: Notifications | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or ``stop``); return the exit code. Status transitions go to
    ``notifications``, delivered by a task of their own."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    suspended = config.suspend or settings.suspend
    _log.info(
        "controller starting",
        accounts=len([a for a in config.accounts if settings.shard.owns(a.key)]),
        directory=len(config.directory),
        shard=str(settings.shard),
        suspended=suspended,
        target=settings.target if "://" not in settings.target else "http",
    )
    metrics = Metrics()
    health = Health(api_grace=settings.api_grace, lease_grace=settings.lock_timeout)
    board = StatusBoard(on_event=notifications.submit if notifications else None)
    delivering = asyncio.create_task(notifications.run()) if notifications else None
    roster = Roster(config, shard=settings.shard, metrics=metrics, grace=settings.api_grace)
    if config.directory:  # unready until each entry has a list of users
        health.add_check(roster.problems)
        board.sections["directory"] = roster.to_json

    def register(account: Account) -> AccountStatus:
        """Not ready while the account is being opened; listed in /status from
        the start, Progressing until its first full pass."""
        health.expect(account.label)
        return board.account(
            account.label,
            drift_policy=str(account.drift_policy),
            suspended=suspended or account.suspend,
        )

    books = AddressBooks()

    def forget(account: Account) -> None:
        books.forget(account.key)
        board.forget(account.label)
        health.forget(account.label)
        metrics.forget(account.label)

    app: Any = None
    try:
        if settings.target == "embedded":  # one in-process emulator for every account
            app = _embedded_app(settings.state_dir.embedded_state)
        # The HTTP stack loads and the pool is built (its TLS context off the loop) before the
        # probes are served: ~100 ms of imports, and no turn of the loop in which /status
        # would answer without the accounts.
        from reconciler.people.targets import open_replica

        async with (
            open_replica(settings.target, pacing=settings.pacing, app=app) as replica,
            _serving(metrics, health, settings, board),
            AsyncExitStack() as stack,
        ):
            # A quarter more for edits and live changes only, so that they wait for no pass of
            # a thousand contacts to end (docs/scale.md, "An edit's way to the API").
            slots = PassSlots(
                settings.concurrent_passes, reserve=max(1, settings.concurrent_passes // 4)
            )
            # One poll schedule: polls stay within their share of the project's read budget
            # and give way to passes waiting for a slot (controller/pollschedule.py).
            polls = PollSchedule(
                settings.intervals.poll,
                max_wait=settings.intervals.resync,
                reads_per_minute=settings.pacing.project_reads_per_minute,
                share=settings.poll_share,
                slots=slots,
                metrics=metrics,
            )
            board.sections["polls"] = polls.to_json
            await stack.enter_async_context(_running(polls.run(), "poll-schedule"))
            # One watch over every account's manifests; accounts register as they start.
            watcher = ReplicaWatcher(
                debounce=settings.intervals.debounce, observe=_watch_metrics(metrics)
            )
            health.add_check(watcher.problems)
            board.sections["watch"] = watcher.to_json
            await stack.enter_async_context(_running(watcher.run(), "manifest-watch"))

            async def open_worker(
                account_stack: AsyncExitStack, account: Account, client: PeopleClient
            ) -> AccountWorker:
                return await _open_account(
                    account_stack,
                    account,
                    client,
                    settings,
                    metrics=metrics,
                    health=health,
                    suspended=suspended,
                    status=statuses.get(account.key) or register(account),
                    slots=slots,
                    watcher=watcher,
                    polls=polls,
                )

            async def open_one(account_stack: AsyncExitStack, account: Account) -> AccountWorker:
                """Open an account, at start or when it joins while the others run."""
                client = await _connect(account_stack, account, settings, replica)
                refused = await books.admit([(account.key, client)])
                if refused:  # an alias of a running account: left out, nothing written
                    raise refused[0]
                return await open_worker(account_stack, account, client)

            fleet = Fleet(opener=open_one, forget=forget, drain_bound=settings.shutdown_timeout)
            stack.push_async_callback(fleet.close)  # every account's lease, before the pool
            ask = directory_asker(replica, settings.credentials) if config.directory else None
            if ask is not None:
                await roster.refresh_all(ask)
            accounts = roster.accounts()
            if not accounts:
                _log.warning("no account belongs to this shard", shard=str(settings.shard))
            statuses = {a.key: register(a) for a in accounts}
            for account in accounts:  # an edit made before its account is open opens it next
                hurry = functools.partial(fleet.hurry, account.key)
                watcher.expect(account.key, account.manifests, held=hurry)
            try:  # all start once all are open: a shared address book stops it, nothing written
                await fleet.open(accounts)
            except (JournalLocked, SharedAddressBook) as error:  # a shared book is logged already
                if isinstance(error, JournalLocked):
                    _log.error("another writer holds an account; stop it or wait", error=str(error))
                return 1  # nothing started; the accounts opened are closed with the fleet
            _log.info("accounts opened", accounts=len(accounts))
            statuses.clear()  # accounts that join later register when they are opened
            refreshing = (lambda: roster.run(ask, fleet.update)) if ask is not None else None
            code = await _supervise(
                fleet, health, stop, settings.shutdown_timeout, refreshing, polls=polls
            )
        _log.info("controller stopped")  # after the leases were given back
        return code
    except CannotServe as error:
        _log.error("cannot serve probes or metrics", error=str(error))
        return 1
    except StateUnwritable as error:
        _log.error(
            "cannot write the state directory",
            error=str(error),
            hint="point --state-dir (RECONCILER_STATE_DIR) at a writable directory",
        )
        return 1
    finally:
        if delivering is not None and notifications is not None:
            delivering.cancel()
            await asyncio.gather(delivering, return_exceptions=True)
            with contextlib.suppress(TimeoutError):  # what is still queued gets a short chance
                await asyncio.wait_for(notifications.drain(), NOTIFY_DRAIN)
        persistence = getattr(
            getattr(getattr(app, "state", None), "emulator", None), "persistence", None
        )
        if persistence is not None:
            persistence.close()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


async def _supervise(
    fleet: Fleet,
    health: Health,
    stop: asyncio.Event,
    drain_bound: float,
    refreshing: Callable[[], Coroutine[Any, Any, None]] | None = None,
    *,
    polls: PollSchedule | None = None,
) -> int:
    """Run the fleet's workers (and the Directory refresh) until ``stop``; then drain them
    within ``drain_bound`` seconds: no poll is sent from then on, and those in flight finish
    (their accounts wait for them). A lease lost or held by another writer keeps only its own
    account waiting (:mod:`reconciler.controller.leasing`). A worker that ends on its own stops
    the controller too (exit 1 if it crashed).
    """
    heartbeat = asyncio.create_task(_heartbeat(health))
    stopping = asyncio.create_task(stop.wait())
    ending = asyncio.create_task(fleet.ended.wait())
    refresh = asyncio.create_task(refreshing()) if refreshing is not None else None
    waited = [stopping, ending]
    code = 0
    try:
        done, _ = await asyncio.wait(
            [*waited, *([refresh] if refresh else [])], return_when=asyncio.FIRST_COMPLETED
        )
        if refresh is not None and refresh in done:  # it never ends on its own: a bug
            code = 1
            _log.error("the directory refresh stopped", error=repr(refresh.exception()))
        elif refresh is not None:  # no account joins or leaves from here on
            refresh.cancel()
            await asyncio.gather(refresh, return_exceptions=True)
        for finished in fleet.crashed:
            if not finished.cancelled() and finished.exception() is not None:
                code = 1
                _log.error(
                    "account worker crashed",
                    task=finished.get_name(),
                    error=repr(finished.exception()),
                )
        _log.info("shutting down: finishing in-flight passes", bound=drain_bound)
        if polls is not None:
            polls.stop()
        await fleet.drain(drain_bound)
        return code
    finally:
        for task in (heartbeat, *waited):
            task.cancel()
        await asyncio.gather(heartbeat, *waited, return_exceptions=True)
