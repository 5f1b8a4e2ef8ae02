"""An account's write lease in the controller: held only while there is writing to do.

The lease (:mod:`reconciler.apply.lease`) keeps every writer of an address book, on any
machine, to one at a time. A one-shot ``apply`` holds it for its whole run; a controller that
held every account's lease for its whole life would renew each one every 40 s, 1,500 writes a
minute at 1,000 accounts, all of them for nothing while the accounts are idle. So here:

- a pass reads and plans **without** the lease; one whose plan writes nothing costs no lease
  call at all;
- before a pass's first write (:meth:`PassLease.may_write`) the lease is taken, with the etag
  of the lease group as the pass's own read listed it (groups are listed before contacts).
  That compare-and-swap succeeding proves nobody took the lease, so nobody wrote, since the
  read: the plan stands. If the lease changed meanwhile, it is taken anew and the pass **reads
  and plans again** under it, so that nothing another writer created in between is created
  twice;
- a held lease is kept across passes that follow within its ttl and renewed only when a pass
  starts writing with less than half the ttl left; while a pass writes it is renewed in the
  background, so it never lapses mid-write;
- when the account goes idle (nothing queued before the lease would run low) it is given back
  once a listing shows the pass's creates, as a stopping controller does: whoever takes it
  next, from any machine, does not create them again. Kept for a pass due soon, it is renewed
  only while such creates are still unlisted;
- a lease another writer holds, or one taken from us mid-write, is that account's business
  only: the pass raises :class:`~reconciler.apply.lease.LeaseHeld` or
  :class:`~reconciler.apply.lease.LeaseLost` and the account worker requeues it, naming the
  holder (:func:`lease_wait`); every other account carries on.

A converging account thus costs one claim and one release; an idle one nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from reconciler.apply.journal import CreateJournal
from reconciler.apply.lease import POLL, Keeper, Lease, LeaseError, LeaseHeld, LeaseLost
from reconciler.apply.lease_record import Group
from reconciler.apply.live import LiveReader
from reconciler.apply.visibility import DEFAULT_TIMEOUT, Creates, wait_until_listed
from reconciler.clock import Clock, SystemClock, sleep_unless
from reconciler.people.errors import PeopleError

__all__ = ["LEASE_RECHECK", "PassLease", "lease_wait"]

log = structlog.get_logger("reconciler.lease")


LEASE_RECHECK = 30.0
"""Seconds at most before a pass that found the lease held tries again: the holder may give
it back long before its expiry (an ``apply`` ends), and each try is one listing and plan."""


class _Halted(Exception):
    """A pass starts while the idle account waits for a listing: stop waiting."""


@dataclass(frozen=True)
class _Settling:
    """The clock of an idle account's wait for a listing: the pass lease's, whose sleeps
    between two listings :meth:`PassLease._stop_settling` ends (raising :class:`_Halted`)."""

    clock: Clock
    halt: asyncio.Event

    def now(self) -> float:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        if await sleep_unless(self.clock.sleep, seconds, self.halt):
            raise _Halted


def lease_wait(error: LeaseError, now: float, recheck: float = LEASE_RECHECK) -> tuple[float, str]:
    """When a pass the lease kept from writing should try again (seconds from ``now``, at most
    ``recheck`` before the holder's expiry), and why it waits, naming the holder and its expiry
    when the lease record shows them."""
    if isinstance(error, LeaseHeld) and error.record is not None:
        record = error.record
        delay = min(max(record.expires - now, POLL), recheck)
        return delay, f"waiting for the write lease, held by {record.describe()}"
    if isinstance(error, LeaseHeld):
        return POLL, (
            "waiting for the write lease, held by another run on this machine or by one "
            "whose lease is not listed yet"
        )
    if isinstance(error, LeaseLost):
        return POLL, f"the write lease was lost, writing stopped: {error}"
    return recheck, f"the write lease cannot be taken: {error}"


@dataclass
class PassLease:
    """The write lease of one account's passes, with the journal whose creates it protects.

    ``seen`` is the lease group as the pass's last groups listing showed it (the pass
    gateway's). ``visibility`` bounds how long an idle account waits for a listing to show its
    creates before it gives the lease back anyway (with a warning, as a stopping controller
    does).
    """

    lease: Lease
    journal: CreateJournal
    reader: LiveReader
    seen: Callable[[], Group | None]
    visibility: float = DEFAULT_TIMEOUT
    clock: Clock = field(default_factory=SystemClock)  # the settle's waits (the account's)
    _settling: asyncio.Task[None] | None = field(default=None, init=False)
    _halt: asyncio.Event = field(default_factory=asyncio.Event, init=False)  # stop settling
    _pass: asyncio.Task[Any] | None = field(default=None, init=False)
    _keeper: Keeper | None = field(default=None, init=False)
    _releasing: bool = field(default=False, init=False)  # a release write is under way
    _shown: dict[str, str] = field(default_factory=dict, init=False)  # creates a listing showed

    @property
    def holding(self) -> bool:
        return self.lease.holding

    def left(self) -> float:
        """Seconds before the held lease lapses unless renewed (0 when not held)."""
        return max(0.0, self.lease.expires - self.lease.clock.now()) if self.holding else 0.0

    @contextlib.asynccontextmanager
    async def passing(self) -> AsyncIterator[None]:
        """One pass. If it writes, the lease renewed for it meanwhile stays held after it; if
        the lease is lost while it writes, the pass is cancelled with
        :class:`~reconciler.apply.lease.LeaseLost` and the lease dropped (another writer may be
        at work: this account writes no more until it takes the lease again)."""
        await self._stop_settling()
        self._pass = asyncio.current_task()
        try:
            yield
        except asyncio.CancelledError:
            if self.lease.lost is None or self._pass is None:
                raise
            self._pass.uncancel()
            reason = self.lease.lost
            self.lease.forget()
            raise LeaseLost(f"stopped writing: {reason}") from None
        finally:
            self._pass = None
            keeper, self._keeper = self._keeper, None
            if keeper is not None:
                await keeper.stop()

    async def may_write(self, _plan: object) -> bool:
        """Asked before the pass's first write: take or renew the lease, and keep it renewed
        for the rest of the pass. True when what the pass read is still current under it;
        False when the lease changed since (it is ours now: read and plan again). Raises
        :class:`~reconciler.apply.lease.LeaseHeld` while another writer holds it."""
        current = True
        if self.holding:
            try:
                await self.lease.ensure()
            except LeaseLost as error:  # between passes: nothing was cut short
                log.info("lease.lapsed_between_passes", reason=str(error))
        if not self.holding and not await self.lease.take_seen(self.seen()):
            await self.lease.ensure()
            current = False
        if self._keeper is None and self._pass is not None:
            guarded = self._pass

            def stop_writing(_reason: str) -> None:
                if self._pass is guarded:  # not once the pass is over
                    guarded.cancel()

            self._keeper = Keeper(self.lease, stop_writing)
        return current

    def idle(self, next_pass_in: float | None) -> None:
        """The account has no pass to run now; the next is due in ``next_pass_in`` seconds
        (None: nothing queued).

        If that pass comes while at least half the ttl would still be left, the lease is kept
        (that pass then starts without a renewal), renewed meanwhile only while a listing does
        not show our creates yet, so that it never lapses with creates that another writer
        could not see. Otherwise it is given back once they show. Both run in the background;
        a pass that starts meanwhile stops them and keeps the lease.
        """
        if not self.holding or (self._settling is not None and not self._settling.done()):
            return
        keep = next_pass_in is not None and self.left() - next_pass_in >= self.lease.ttl / 2
        if keep and not self.resource_names():
            return
        self._settling = asyncio.get_running_loop().create_task(
            self._settle(self, self.visibility, release=not keep), name="lease-settle"
        )

    async def close(self, within: float) -> None:
        """The controller stops: give the lease back, waiting at most ``within`` seconds for a
        listing to show our creates first."""
        await self._stop_settling()
        await self._settle(self.journal, within, release=True)

    def resource_names(self) -> dict[str, str]:
        """The journal's creates that no listing has shown since they were written.

        Only the next pass's own read takes them out of the journal: a later listing may still
        lag behind one that showed them (another replica of the API answering), and until then
        that pass finds them by name instead of creating them again."""
        names = self.journal.resource_names()
        self._shown = {k: n for k, n in self._shown.items() if names.get(k) == n}
        return {k: n for k, n in names.items() if self._shown.get(k) != n}

    async def forget(self, keys: Iterable[str]) -> None:
        """A listing showed these creates: they no longer keep the lease held."""
        names = self.journal.resource_names()
        self._shown.update({k: names[k] for k in keys if k in names})

    async def _stop_settling(self) -> None:
        """Stop waiting for the listing, without giving the lease back. A request already
        under way is let finish: a listing (cut short, it is a read paid for and its answer
        lost), a renewal or a release (we would not know whether we still hold the lease)."""
        settling, self._settling = self._settling, None
        if settling is None or settling.done():
            return
        log.debug("lease.settle_stopping", releasing=self._releasing)
        self._halt.set()
        try:
            await settling
        finally:
            self._halt.clear()

    async def _settle(self, creates: Creates, within: float, *, release: bool) -> None:
        """Wait (at most ``within`` seconds, renewing) until a listing shows ``creates`` (the
        journal's, or those no listing showed yet: :meth:`resource_names`); then, with
        ``release``, give the lease back."""
        if not self.holding:
            return
        try:
            if creates.resource_names():
                async with self.lease.writing():
                    seen = await wait_until_listed(
                        self.reader, creates, within=within,
                        clock=_Settling(self.clock, self._halt),
                    )  # fmt: skip
                if not seen.visible:
                    log.warning(
                        "lease.creates_not_listed", creates=len(seen.missing), releasing=release
                    )
        except _Halted:  # a pass starts: it keeps the lease
            return
        except PeopleError as error:
            log.warning("lease.listing_failed", error=str(error), releasing=release)
        except LeaseLost as error:
            log.error("lease.lost", reason=str(error))
            self.lease.forget()
            return
        if release and not self._halt.is_set():
            self._releasing = True
            try:
                await self.lease.release()
            finally:
                self._releasing = False
