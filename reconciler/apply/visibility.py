"""An apply ends only when its creates show in a listing.

Listings lag new contacts, and a run that plans from a listing that does not show a contact yet
creates it again. The create journal (:mod:`reconciler.apply.journal`) bridges the lag for runs
that share its state directory, but a run from another CI workspace, another machine, or after
the state directory is gone has only the listing. So an apply does not finish while the journal
still holds a create the listing has not shown: it lists again (backing off) until it does, or
until a bounded time has passed (``--visibility-timeout``), and then says which are still
missing.

The journal is the record of exactly those creates: :func:`~reconciler.apply.live.read_live`
drops an entry once a listing shows it. An entry whose answer was lost (no resource name) is not
waited for here: the apply already reports it as pending, which is not converged.

Cost: one extra listing (a page per 1,000 contacts) after an apply that created something, plus
one per further look while the listing lags; nothing when the journal holds no create.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import structlog

from reconciler.apply.journal import CreateJournal
from reconciler.apply.live import LiveReader
from reconciler.apply.results import ApplyResult
from reconciler.clock import Clock, SystemClock

log = structlog.get_logger("reconciler.apply")

DEFAULT_TIMEOUT = 120.0  # seconds; Google publishes no figure for the listing lag


@dataclass(frozen=True)
class Visibility:
    """What the wait saw: ``missing`` maps manifest names still unlisted to resource names."""

    missing: dict[str, str]
    listings: int
    waited: float

    @property
    def visible(self) -> bool:
        return not self.missing

    def message(self, within: float) -> str:
        return (
            f"{len(self.missing)} created contact(s) did not show in a listing within "
            f"{within:g} s (--visibility-timeout): a run that does not share this state "
            "directory (another workspace or machine) could create them again until they do. "
            "Run apply again from here, or wait before running it elsewhere."
        )


class Creates(Protocol):
    """The creates to wait for: a :class:`CreateJournal`, or a view of one."""

    def resource_names(self) -> dict[str, str]: ...

    async def forget(self, keys: Iterable[str]) -> None: ...


async def wait_until_listed(
    reader: LiveReader,
    journal: Creates,
    *,
    within: float,
    clock: Clock,
    first_delay: float = 0.1,
    max_delay: float = 5.0,
) -> Visibility:
    """List until every journaled create shows (each is then dropped from the journal), or
    until ``within`` seconds have passed on ``clock``; never longer. The clock is injected (an
    asyncio timeout would tie the bound to the event loop's clock, which tests cannot move).
    Looks again after ``first_delay`` seconds, doubling up to ``max_delay``."""
    started = clock.now()
    delay = first_delay
    listings = 0
    while True:
        waiting = journal.resource_names()
        if not waiting:
            return Visibility({}, listings, clock.now() - started)
        people, _complete = await reader.list_people()
        listings += 1
        listed = {str(p.get("resourceName")) for p in people}
        await journal.forget(key for key, name in waiting.items() if name in listed)
        missing = journal.resource_names()
        elapsed = clock.now() - started
        if not missing or elapsed >= within:
            if missing:
                log.warning(
                    "apply.creates_not_listed", creates=len(missing), seconds=round(elapsed, 1)
                )
            return Visibility(missing, listings, elapsed)
        log.info("apply.waiting_for_listing", creates=len(missing), listings=listings)
        await clock.sleep(min(delay, max(0.0, within - elapsed)))
        delay = min(delay * 2, max_delay)


async def require_listed(
    reader: LiveReader,
    journal: CreateJournal,
    result: ApplyResult,
    *,
    within: float = DEFAULT_TIMEOUT,
    clock: Clock | None = None,
) -> Visibility:
    """:func:`wait_until_listed` at the end of an apply (on ``clock``, the system's by
    default); a timeout is an error of ``result``."""
    if result.cancelled:
        return Visibility({}, 0, 0.0)
    seen = await wait_until_listed(reader, journal, within=within, clock=clock or SystemClock())
    if not seen.visible:
        result.errors.append(seen.message(within))
    return seen
