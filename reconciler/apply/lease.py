"""The address book's write lease: one writer at a time, across machines, with no shared disk.

Google's rule is one writer per account, and two writers are how duplicates and lost updates
happen: two CI runners applying the same commit, or a runner while the controller runs. A lock
file only protects one machine, and CI runners, pods and laptops share no disk, so the lease
lives where every writer already looks: in the address book, as a contact group of its own
(:data:`~reconciler.model.stamps.LEASE_GROUP_NAME`) whose ``clientData`` records the holder and
the expiry (keys in :mod:`reconciler.model.stamps`).

- **Taking it** is a compare-and-swap: the holder record is written with the group's etag, and
  ``contactGroups.update`` with a stale etag is a 409, so of two runners that read the same free
  lease exactly one wins; creating the group is guarded the same way by its unique name.
- **Holding it**: it lapses after ``ttl`` seconds unless renewed; while a holder writes
  (:meth:`Lease.writing`) it renews every third of that in the background, and stops writing
  (the guarded work is cancelled with :class:`LeaseLost`) if it cannot renew before it lapses
  or finds someone else holds it. A one-shot ``apply`` writes for the whole of :meth:`Lease.held`;
  the controller holds a lease only across passes that write (:meth:`Lease.ensure` before each,
  see :mod:`reconciler.controller.leasing`), so an idle account costs no lease writes at all.
- **Giving it back**: on exit the holder record is cleared (with the etag, so a lease someone
  broke and retook is never cleared by its former holder).
- **After a crash** (SIGKILL, a lost machine) the lease lapses at its expiry. On the same machine
  and state directory a new run does not wait for that: the holder keeps a local lock
  (``flock``, dropped by the kernel when a process dies) beside its state-directory id, so a
  record naming our own state directory whose lock is free belongs to a dead process.
- **Breaking it**: ``reconciler force-unlock LEASE_ID`` clears a lease whose holder is known to be
  gone, and only that lease (the id guards against breaking a newer one).

The lease group carries no owner stamp, so plans never match, prune or report it, and export
leaves it out. Every call goes through :mod:`reconciler.people`; the record and its
etag-guarded write are :mod:`reconciler.apply.lease_record`. Expiries are wall-clock times
compared across machines: a clock skew of some seconds only shortens or lengthens a lapsed
lease's wait, against a two-minute ttl.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import getpass
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import structlog

from reconciler.apply.lease_record import (
    Group,
    LeaseClient,
    LeaseRecord,
    find_lease_group,
    rfc3339,
    write_lease,
)
from reconciler.clock import Clock, SystemClock, sleep_unless
from reconciler.model.stamps import (
    LEASE_EXPIRES_KEY,
    LEASE_GROUP_NAME,
    LEASE_HOLDER_KEY,
    LEASE_ID_KEY,
    LEASE_INSTANCE_KEY,
    is_lease_group,
)
from reconciler.people.errors import Conflict, NotFound, PeopleError
from reconciler.statedir import StateDir

log = structlog.get_logger("reconciler.lease")

LEASE_TTL = 120.0  # seconds a lease lasts unless renewed
POLL = 5.0  # seconds between looks while waiting for a lease (each look is one read)


class LeaseError(RuntimeError):
    """This run may not write: the lease is someone else's, was lost, or cannot be made."""


class LeaseHeld(LeaseError):
    """Someone else holds the address book's lease."""

    def __init__(self, record: LeaseRecord | None, waited: float) -> None:
        self.record = record
        who = (
            record.describe()
            if record
            else "another run (on this machine, or one whose lease is not listed yet)"
        )
        advice = (
            "wait for it to finish, or pass --lock-timeout SECONDS to wait for it"
            if record is None
            else "wait for it to finish or pass --lock-timeout SECONDS to wait for it; if that "
            "run is gone for good, break its lease with: reconciler force-unlock "
            f"{record.lease_id} (same --target and credentials)"
        )
        waited_text = f" (waited {waited:.0f} s)" if waited else ""
        super().__init__(f"the address book is leased to {who}{waited_text}; {advice}")


class LeaseLost(LeaseError):
    """The lease was taken over or could not be renewed in time: this run stopped writing."""


class LeaseGroupTaken(LeaseError):
    """A contact group has the lease's name but is not a lease."""


def holder_name(command: str, owner: str) -> str:
    """``apply (owner ops) by ci@runner-7 pid 4242``: for people, not compared."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{command} (owner {owner}) by {user}@{socket.gethostname()} pid {os.getpid()}"


def claim(
    client: LeaseClient,
    state_dir: StateDir,
    *,
    target: str,
    account: str,
    owner: str,
    command: str,
    clock: Clock | None = None,
) -> Lease:
    """The lease of ``account``'s address book at ``target``, as ``command`` would hold it from
    ``state_dir`` (its local lock and id), on ``clock`` (the system's by default)."""
    return Lease(
        client,
        lock_path=state_dir.lease_lock(target=target, account=account),
        instance=state_dir.instance_id(),
        holder=holder_name(command, owner),
        clock=clock or SystemClock(),
    )


@dataclass
class Lease:
    """One run's claim on one address book's lease; use :meth:`held`."""

    client: LeaseClient
    lock_path: Path  # the local lock (see the module docstring)
    instance: str  # this state directory's id
    holder: str
    ttl: float = LEASE_TTL
    # Its now() is wall time (expiries are compared across machines); its sleeps pace the
    # waits for a holder and the renewals. The controller hands each lease its account's clock.
    clock: Clock = field(default_factory=SystemClock)
    lease_id: str = field(default_factory=lambda: secrets.token_hex(4))
    lost: str | None = None
    expires: float = 0.0
    renewing: bool = field(default=False, init=False)  # a renewal write is under way
    _group: Group | None = None  # the lease group as our last write answered (its etag)
    _lock: IO[str] | None = None

    # -- taking --------------------------------------------------------------------------------

    async def acquire(self, wait: float = 0.0) -> None:
        """Take the lease, waiting up to ``wait`` seconds for its holder; raises
        :class:`LeaseHeld` after that."""
        started = self.clock.now()
        contended = False  # a write of ours just met a 409: look once more, then wait
        while True:
            local = self._lock_locally()
            group = await self._find()
            record = LeaseRecord.of(group)
            now = self.clock.now()
            if record is not None and record.lease_id == self.lease_id:
                self._took(group, record)  # our own write, whose answer a retry lost
                return
            free = record is None or record.expires <= now
            dead_here = record is not None and record.instance == self.instance
            if local and (free or dead_here) and not contended:
                try:
                    written = await self._write(group, self._record(now + self.ttl))
                except Conflict:
                    if group is None:
                        await self._check_name()
                    # Someone wrote first (or our own retried write did): look again, and if
                    # the listing does not show who yet, wait rather than write in a loop.
                    contended = True
                    continue
                self._took(written, LeaseRecord.of(written))
                if record is not None:
                    log.info("lease.taken_over", previous=record.describe(), free=free)
                return
            contended = False
            self._unlock_locally()
            waited = now - started
            if waited >= wait:
                raise LeaseHeld(None if free else record, waited)
            log.info("lease.waiting", holder=record.describe() if record else "unknown")
            await self.clock.sleep(min(POLL, wait - waited))

    def _took(self, group: Group | None, record: LeaseRecord | None) -> None:
        self._group = group
        self.expires = record.expires if record else 0.0
        log.info("lease.held", lease=self.lease_id, expires=rfc3339(self.expires))

    @property
    def holding(self) -> bool:
        """Whether this claimant took the lease and has neither given it back nor lost it
        (it may have lapsed since: :meth:`ensure` renews it while nobody else took it)."""
        return self._group is not None and self.lost is None

    async def ensure(self) -> bool:
        """Make sure the lease is ours for at least half a ``ttl`` more, writing only when it
        has to: nothing while that much is left, a renewal when less is, a claim (with a new
        lease id, and no wait) when we do not hold it. Returns True for a new claim: whatever
        was read before it may predate another writer's work, so read again before writing.
        Raises :class:`LeaseHeld` (someone else holds it) or :class:`LeaseLost` (it was taken
        from us since our last write; we hold nothing afterwards)."""
        if self.holding:
            if self.expires - self.clock.now() >= self.ttl / 2:
                return False
            try:  # the etag guards continuity: nobody wrote the group since our last write
                await self.renew()
            except LeaseLost as error:
                self.lost = str(error)
                self.forget()
                raise
            return False
        self.forget()
        self.lost = None
        self.lease_id = secrets.token_hex(4)  # each claim its own id: force-unlock breaks one
        await self.acquire()
        return True

    async def take_seen(self, group: Group | None) -> bool:
        """Take the lease with the etag of ``group``, the lease group as a listing showed it
        (None: there was none), without looking again. True when that worked: nobody took the
        lease since that listing, so nobody wrote since either and what was read after it is
        still current. False (nothing held) when the lease was held then or changed since:
        :meth:`ensure` takes it anew, and the reader reads again."""
        self.forget()
        self.lost = None
        self.lease_id = secrets.token_hex(4)
        record = LeaseRecord.of(group)
        now = self.clock.now()
        free = record is None or record.expires <= now
        dead_here = record is not None and record.instance == self.instance
        if not (free or dead_here) or not self._lock_locally():
            return False
        try:
            written = await self._write(group, self._record(now + self.ttl))
        except Conflict:
            self._unlock_locally()
            return False
        self._took(written, LeaseRecord.of(written))
        return True

    def forget(self) -> None:
        """Stop holding without writing (the lease was lost, or lapses on its own)."""
        self._group = None
        self._unlock_locally()

    # -- holding -------------------------------------------------------------------------------

    async def renew(self) -> None:
        """Extend the lease by ``ttl``; raises :class:`LeaseLost` if it is not ours any more."""
        for _ in range(2):
            try:
                written = await self._write(self._group, self._record(self.clock.now() + self.ttl))
            except (Conflict, NotFound):
                group = await self._find()
                record = LeaseRecord.of(group)
                if record is None or record.lease_id != self.lease_id:
                    raise LeaseLost(
                        "the lease was broken and is now held by " + record.describe()
                        if record
                        else "the lease was broken (its record is gone)"
                    ) from None
                self._group = group  # ours, with an etag we had not seen: write again
                continue
            self._took(written, LeaseRecord.of(written))
            return
        raise LeaseLost("the lease group keeps changing under us")

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is still ours by its last renewal: for code
        that blocked the event loop (a prompt) and so the renewals."""
        if self.lost is not None or self.expires <= self.clock.now():
            raise LeaseLost(
                self.lost
                or "the write lease lapsed while this run was blocked (waiting for "
                "confirmation?) and could not be renewed; nothing was written, run apply again"
            )

    async def keep(self, on_lost: Callable[[str], None], stop: asyncio.Event | None = None) -> None:
        """Renew every third of the ttl until ``stop`` is set (a renewal under way is let
        finish) or cancelled; on loss, tell ``on_lost`` and stop. See :class:`Keeper`."""
        interval = self.ttl / 3
        stop = stop or asyncio.Event()
        while not await sleep_unless(self.clock.sleep, interval, stop):
            self.renewing = True
            try:
                await self.renew()
            except LeaseLost as error:
                self.lost = str(error)
            except PeopleError as error:
                log.warning("lease.renew_failed", error=str(error))
                if self.clock.now() + interval >= self.expires:  # the next try would be too late
                    self.lost = f"the lease could not be renewed before it expired: {error}"
            finally:
                self.renewing = False
            if self.lost is not None:
                log.error("lease.lost", reason=self.lost)
                on_lost(self.lost)
                return

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[Lease]:
        """Renew the lease (which must be held) in the background for the ``async with``
        block; if it is lost meanwhile, the block is cancelled and :class:`LeaseLost` raised
        from it. The lease stays held afterwards."""
        guarded = asyncio.current_task()
        assert guarded is not None
        assert self.holding
        inside = True

        def cancel_guarded(_reason: str) -> None:
            if inside:  # a renewal let finish after the block cannot cut the block short
                guarded.cancel()

        keeper = Keeper(self, cancel_guarded)
        try:
            yield self
        except asyncio.CancelledError:
            if self.lost is None:
                raise
            guarded.uncancel()
            raise LeaseLost(f"stopped writing: {self.lost}") from None
        finally:
            inside = False
            await keeper.stop()

    @contextlib.asynccontextmanager
    async def held(self, wait: float = 0.0) -> AsyncIterator[Lease]:
        """Hold the lease for the ``async with`` block, renewing it; released on exit.

        If the lease is lost meanwhile, the block is cancelled and :class:`LeaseLost` raised
        from it.
        """
        await self.acquire(wait)
        try:
            async with self.writing():
                yield self
        finally:
            await self.release()

    # -- giving back ---------------------------------------------------------------------------

    async def release(self) -> None:
        """Clear our holder record (never someone else's); errors are logged: it lapses anyway."""
        try:
            if self._group is not None and self.lost is None:
                try:
                    await self._write(self._group, [])
                except Conflict:
                    group = await self._find()
                    record = LeaseRecord.of(group)
                    if record is not None and record.lease_id == self.lease_id:
                        await self._write(group, [])
                log.info("lease.released", lease=self.lease_id)
        except PeopleError as error:
            log.warning("lease.release_failed", error=str(error), expires=rfc3339(self.expires))
        finally:
            self._group = None
            self._unlock_locally()

    # -- the group -----------------------------------------------------------------------------

    def _record(self, expires: float) -> list[dict[str, str]]:
        return [
            {"key": LEASE_ID_KEY, "value": self.lease_id},
            {"key": LEASE_HOLDER_KEY, "value": self.holder},
            {"key": LEASE_INSTANCE_KEY, "value": self.instance},
            {"key": LEASE_EXPIRES_KEY, "value": rfc3339(expires)},
        ]

    async def _find(self) -> Group | None:
        return await find_lease_group(self.client)

    async def _write(self, group: Group | None, record: list[dict[str, str]]) -> Group:
        """Write ``record`` (empty: nobody holds it) with the group's etag; create the group
        the first time."""
        return await write_lease(self.client, group, record)

    async def _check_name(self) -> None:
        for group in await self.client.list_groups():
            if group.get("name") == LEASE_GROUP_NAME and not is_lease_group(group):
                raise LeaseGroupTaken(
                    f"contact group {group.get('resourceName')} is named {LEASE_GROUP_NAME!r} "
                    "but is not a reconciler lease; rename it so that the lease can be created"
                )

    # -- the local lock ------------------------------------------------------------------------

    def _lock_locally(self) -> bool:
        if self._lock is not None:
            return True
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True

    def _unlock_locally(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the flock
            self._lock = None


class Keeper:
    """A lease renewed in the background (:meth:`Lease.keep`) until :meth:`stop`."""

    def __init__(self, lease: Lease, on_lost: Callable[[str], None]) -> None:
        self.lease = lease
        self._stop = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(
            lease.keep(on_lost, self._stop), name="lease-renewal"
        )

    async def stop(self) -> None:
        """Stop renewing: at once between two renewals, after it when one is under way (cut
        short, it would be a write whose answer is lost, and the next write of the lease would
        meet an etag it never saw). Cancelling the caller cancels the renewal too."""
        self._stop.set()
        if self.lease.renewing:
            log.debug("lease.renewal_let_finish", lease=self.lease.lease_id)
        await self.task
