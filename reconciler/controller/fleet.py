"""The replica's running accounts: started and stopped one by one while the others carry on.

Which accounts a replica runs can change under it (a user joins or leaves a Directory selection),
so each running account owns its resources in an exit stack of its own: its client, its write
lease, its create journal. Stopping one lets its pass in flight finish (within the drain bound),
waits until a listing shows its creates, gives its lease back and forgets its status, probes
and metrics; its contacts stay exactly as they are, nothing is deleted. An account that joins
while the replica runs and cannot be opened (another writer holds its lease, the API refuses)
is left out and logged; the next change tries it again. At start (:meth:`Fleet.open`) any
such failure stops the start instead: the accounts file is wrong, or another writer runs.

Opening an account waits on the API (its profile read is paced by the project's read budget:
~19 s for a thousand accounts), so accounts are opened ``OPENING_AT_ONCE`` at a time. At start
none starts before every one is open: two entries may turn out to be one address book only
when the last profile is read (:mod:`reconciler.controller.addressbooks`), and that must stop
the start before anything is written, or restarts opening them in another order would write
each one's manifests into the one book in turn. An account that joins later is checked against
the running ones and starts as soon as it is open. Which account opens next is the fleet's
opening line (:class:`~reconciler.people.turns.Turns`, the line the pass slots and the pacer
use): in the order asked, except that an account whose manifests were edited meanwhile
(:meth:`Fleet.hurry`, told by the replica's watch) goes before every account still waiting,
and starts first, so that its edit is applied by the replica's first passes, not its last.

A worker that ends on its own (it crashed) sets :attr:`Fleet.ended`: the controller then stops,
as it always has, rather than run on with an account silently missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

import structlog

from reconciler.controller.account import AccountWorker
from reconciler.controller.accounts import Account
from reconciler.people.turns import Ticket, Turns

__all__ = ["Fleet", "Opener"]

Opener = Callable[[AsyncExitStack, Account], Awaitable[AccountWorker]]
"""Opens one account (client, lease, journal, worker) with its resources on the given stack."""

OPENING_AT_ONCE = 32
"""Accounts opened side by side (each opening waits on the API, mostly its profile read)."""

_log = structlog.get_logger("reconciler.controller")


@dataclass
class _Running:
    stack: AsyncExitStack
    worker: AccountWorker | None = None
    task: asyncio.Task[None] | None = None
    stopping: bool = False


class Fleet:
    """The accounts this replica runs, each with its task and its exit stack."""

    def __init__(
        self,
        *,
        opener: Opener | None = None,
        forget: Callable[[Account], None] = lambda _account: None,
        drain_bound: float = 30.0,
    ) -> None:
        self._opener = opener
        self._forget = forget
        self.drain_bound = drain_bound
        self._running: dict[str, _Running] = {}
        self._changing = asyncio.Lock()
        self._line = Turns(OPENING_AT_ONCE)  # which account opens next
        self._waiting: dict[str, Ticket] = {}  # accounts in line to open, by key
        self._hurried: set[str] = set()  # edited before they were in line
        self.ended = asyncio.Event()  # a worker ended without being asked to
        self.crashed: list[asyncio.Task[None]] = []

    def keys(self) -> set[str]:
        return set(self._running)

    def stack(self, key: str) -> AsyncExitStack:
        """The exit stack the account ``key`` keeps its resources on (made on first ask)."""
        running = self._running.get(key)
        if running is None:
            running = self._running[key] = _Running(AsyncExitStack())
        return running.stack

    def start(self, worker: AccountWorker) -> None:
        """Run ``worker``, whose resources are on ``stack(worker.account.key)``."""
        running = self._running[worker.account.key]
        running.worker = worker
        running.task = asyncio.create_task(worker.run(), name=f"account:{worker.account.key}")
        running.task.add_done_callback(lambda task: self._done(running, task))

    def _done(self, running: _Running, task: asyncio.Task[None]) -> None:
        if running.stopping:
            return
        self.crashed.append(task)
        self.ended.set()

    def hurry(self, key: str) -> None:
        """The manifests of ``key`` changed before it was opened: it opens next, before
        every account still waiting (a no-op once it is open)."""
        ticket = self._waiting.get(key)
        if ticket is None and key in self._running:
            return  # being opened: it hears the edit when it starts
        _log.info("manifests edited before the account was opened; it opens next", account=key)
        if ticket is not None:
            self._line.promote(ticket)
        else:  # not in line yet
            self._hurried.add(key)

    async def open(self, accounts: Sequence[Account]) -> None:
        """Open ``accounts`` (the replica's start), then start them all, those edited first.
        None starts before every one is open: two entries may turn out to be one address
        book only when the last profile is read, and that must stop the start before
        anything is written. The first failure is raised once the openings under way have
        ended; nothing has started then, and those opened are closed by :meth:`close`."""
        failures: list[Exception] = []
        opened: list[AccountWorker] = []
        await self._open_all(accounts, failures.append, opened.append)
        if failures:
            raise failures[0]
        for worker in opened:  # in the order they opened: an edited account opened first
            self.start(worker)

    async def update(self, wanted: Sequence[Account]) -> None:
        """Run exactly ``wanted``: stop the accounts not in it, start those missing."""
        async with self._changing:
            keys = {account.key for account in wanted}
            leaving = [key for key in self._running if key not in keys]
            joining = [a for a in wanted if a.key not in self._running]
            if leaving or joining:
                _log.info("accounts change", joining=len(joining), leaving=len(leaving))
            await asyncio.gather(*(self._stop(key) for key in leaving))
            await self._open_all(joining, None, self._joined)

    async def _open_all(
        self,
        accounts: Sequence[Account],
        failed: Callable[[Exception], None] | None,
        opened: Callable[[AccountWorker], None],
    ) -> None:
        """Open ``accounts`` through the opening line, telling ``opened`` of each worker.
        ``failed`` None: an account that cannot be opened is logged and left out; else it is
        told, and nothing more opens."""
        hurried = [a for a in accounts if a.key in self._hurried]  # they go first
        accounts = [*hurried, *(a for a in accounts if a.key not in self._hurried)]
        tickets = {a.key: Ticket(urgent=a.key in self._hurried) for a in accounts}
        self._waiting.update(tickets)
        failures = 0

        async def open_one(account: Account) -> None:
            nonlocal failures
            ticket = tickets[account.key]
            try:
                async with self._line.hold(ticket=ticket):
                    self._waiting.pop(account.key, None)
                    self._hurried.discard(account.key)
                    if failures:
                        return
                    outcome = await self._open(account, joining=failed is None)
                    if not isinstance(outcome, Exception):
                        opened(outcome)
                    elif failed is not None:
                        failures += 1
                        failed(outcome)
            finally:
                if self._waiting.get(account.key) is ticket:
                    del self._waiting[account.key]

        await asyncio.gather(*(open_one(account) for account in accounts))

    def _joined(self, worker: AccountWorker) -> None:
        """Start an account that joined while the others run (each was checked against the
        running ones as it opened, so it starts at once)."""
        self.start(worker)
        _log.info("account started", account=worker.account.key)

    async def _open(self, account: Account, *, joining: bool) -> AccountWorker | Exception:
        """Open ``account``: its worker, or why it could not be opened (its stack closed and
        its status forgotten). A joiner's failure is logged here, that of an account opened
        at start by the caller."""
        if self._opener is None:
            raise RuntimeError("this fleet has no opener: it cannot start accounts")
        stack = self.stack(account.key)
        try:
            worker = await self._opener(stack, account)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._running.pop(account.key, None)
            await stack.aclose()
            self._forget(account)
            if joining:
                _log.error(
                    "could not start an account; the next directory refresh tries again",
                    account=account.key,
                    error=f"{type(error).__name__}: {error}",
                )
            return error
        return worker

    async def _stop(self, key: str) -> None:
        """Stop one account: finish its pass, then unwind its stack (creates listed, lease
        given back). Nothing is deleted."""
        running = self._running.pop(key)
        running.stopping = True
        await self._finish([running], self.drain_bound)
        try:
            await running.stack.aclose()
        except Exception as error:  # the lease lapses on its own; the others carry on
            _log.error(
                "could not release a stopped account cleanly", account=key, error=repr(error)
            )
        if running.worker is not None:
            self._forget(running.worker.account)
        _log.info("account stopped; its contacts stay as they are", account=key)

    async def _finish(self, runs: Sequence[_Running], bound: float) -> None:
        tasks = [r.task for r in runs if r.task is not None]
        for run in runs:
            run.stopping = True
            if run.worker is not None:
                run.worker.shut_down()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=bound)
        for task in pending:
            _log.warning("pass cancelled at the shutdown bound", task=task.get_name())
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self, bound: float) -> None:
        """Stop every worker: in-flight passes finish within ``bound`` seconds."""
        await self._finish(list(self._running.values()), bound)

    async def close(self) -> None:
        """Unwind every account's stack, the last opened first."""
        async with self._changing:
            for key in reversed(list(self._running)):
                await self._running.pop(key).stack.aclose()
