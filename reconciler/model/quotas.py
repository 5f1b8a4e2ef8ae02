"""What each API call costs, in the units of the quotas Google meters: the one table.

Google does not count calls. It meters several per-minute quotas, per user and per project, and
charges each method a stated number of units of some of them: a ``batchCreateContacts`` costs 6
critical reads and 6 critical writes whatever its size, a ``batchDeleteContacts`` 10 units of
"Contact Deletes and Contact Group Writes" (docs/people-api.md, "Errors and quotas", cites each
figure and says which are inferred). The client's pacer charges these units before it sends a
call and the emulator charges the same units when it answers one, so both read this table; it
lives in the pure core because the emulator may not import the client.

:class:`MinuteWindow` is the other half of the same concept: a quota is a sliding 60-second
window of units, and both sides keep one (the emulator to refuse, the pacer to never be
refused). The server counts a call when it arrives; the pacer cannot see that moment, only
that it lies between the sending and the answer, so it keeps a call's units as counted now
until the answer comes (:class:`Charge`), and a minute past it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "COSTS",
    "CRITICAL_READS",
    "CRITICAL_WRITES",
    "DIRECTORY_QUERIES",
    "GROUP_READS",
    "GROUP_WRITES",
    "PHOTO_WRITES",
    "QUOTAS",
    "WINDOW",
    "Charge",
    "MinuteWindow",
    "Quota",
    "cost_of",
    "dearest",
    "quota_for_metric",
    "total_cost",
]

WINDOW: Final = 60.0
"""Every quota here is per minute, over a sliding window."""


@dataclass(frozen=True)
class Quota:
    """One per-minute quota as Google names it: the metric id a 429's ErrorInfo carries, the
    console's display name, and the limit ids of its per-user and per-project limits."""

    key: str
    metric: str
    display: str
    user_limit: str
    project_limit: str

    def limit(self, *, per_user: bool) -> str:
        """The limit id a 429 names: the per-user one or the project's."""
        return self.user_limit if per_user else self.project_limit


CRITICAL_READS: Final = Quota(
    "critical_reads",
    "people.googleapis.com/critical_read_requests",
    "Critical read requests (Contact and Profile Reads)",
    "CriticalReadsPerMinutePerProjectPerUser",
    "CriticalReadsPerMinutePerProject",
)
CRITICAL_WRITES: Final = Quota(
    "critical_writes",
    "people.googleapis.com/critical_write_requests",
    "Critical write requests (Contact Creates and Updates)",
    "CriticalWritesPerMinutePerProjectPerUser",
    "CriticalWritesPerMinutePerProject",
)
# The metric id is seen in a 429 (docs/people-api.md); the limit ids follow the critical ones'
# pattern [inferred].
GROUP_READS: Final = Quota(
    "group_reads",
    "people.googleapis.com/read_requests",
    "Read requests (Contact Group Reads)",
    "ReadRequestsPerMinutePerProjectPerUser",
    "ReadRequestsPerMinutePerProject",
)
GROUP_WRITES: Final = Quota(
    "group_writes",
    "people.googleapis.com/write_requests",
    "Write requests (Contact Deletes and Contact Group Writes)",
    "WriteRequestsPerMinutePerProjectPerUser",
    "WriteRequestsPerMinutePerProject",
)
PHOTO_WRITES: Final = Quota(
    "photo_writes",
    "people.googleapis.com/photo_write_requests",
    "Photo write requests (Photo Updates)",
    "PhotoWriteRequestsPerMinutePerProjectPerUser",
    "PhotoWriteRequestsPerMinutePerProject",
)
# The Admin SDK Directory API's own quota (published: 2,400 queries per minute per user).
DIRECTORY_QUERIES: Final = Quota(
    "directory_queries",
    "admin.googleapis.com/default",
    "Queries per minute per user",
    "defaultPerMinutePerProjectPerUser",
    "defaultPerMinutePerProject",
)
QUOTAS: Final = (
    CRITICAL_READS,
    CRITICAL_WRITES,
    GROUP_READS,
    GROUP_WRITES,
    PHOTO_WRITES,
    DIRECTORY_QUERIES,
)


def _costs(**units: int) -> Mapping[Quota, int]:
    by_key = {quota.key: quota for quota in QUOTAS}
    return MappingProxyType({by_key[key]: count for key, count in units.items()})


_ONE_READ = _costs(critical_reads=1)
_ONE_WRITE = _costs(critical_reads=1, critical_writes=1)
_BATCH_WRITE = _costs(critical_reads=6, critical_writes=6)
_GROUP_READ = _costs(group_reads=1)
_GROUP_WRITE = _costs(group_writes=1)

COSTS: Final[Mapping[str, Mapping[Quota, int]]] = MappingProxyType(
    {
        # Stated in the "Quota" notes of Google's "Read and Manage Contacts" guide.
        "people.createContact": _ONE_WRITE,
        "people.updateContact": _ONE_WRITE,
        "people.batchCreateContacts": _BATCH_WRITE,
        "people.batchUpdateContacts": _BATCH_WRITE,
        "people.deleteContact": _GROUP_WRITE,
        "people.batchDeleteContacts": _costs(group_writes=10),
        # Not stated: one unit of the quota the console names for them [inferred].
        "people.get": _ONE_READ,
        "people.getBatchGet": _ONE_READ,
        "people.connections.list": _ONE_READ,
        "people.searchContacts": _ONE_READ,
        "people.updateContactPhoto": _costs(photo_writes=1),
        "contactGroups.list": _GROUP_READ,
        "contactGroups.get": _GROUP_READ,
        "contactGroups.batchGet": _GROUP_READ,
        "contactGroups.create": _GROUP_WRITE,
        "contactGroups.update": _GROUP_WRITE,
        "contactGroups.delete": _GROUP_WRITE,
        "contactGroups.members.modify": _GROUP_WRITE,
        # The Directory API (published: one query each).
        "directory.users.list": _costs(directory_queries=1),
        "directory.members.list": _costs(directory_queries=1),
    }
)
"""Units of each quota one call of a method costs, by the method's name on Google's reference
pages (``people.batchCreateContacts``, ``contactGroups.list``). A multipart ``/batch`` costs
what its inner calls cost together (:func:`total_cost`): "n requests, not one"."""


def cost_of(method: str) -> Mapping[Quota, int]:
    """What one call of ``method`` costs; a method missing from :data:`COSTS` is a bug here."""
    try:
        return COSTS[method]
    except KeyError:
        raise KeyError(f"no quota cost is known for {method!r}: add it to COSTS") from None


def total_cost(methods: Iterable[str]) -> dict[Quota, int]:
    """What the calls of ``methods`` cost together (the inner calls of one ``/batch``)."""
    total: dict[Quota, int] = {}
    for method in methods:
        for quota, units in cost_of(method).items():
            total[quota] = total.get(quota, 0) + units
    return total


def dearest(quota: Quota) -> tuple[int, str]:
    """The most units of ``quota`` one call costs, and the method that costs it."""
    return max(((costs.get(quota, 0), method) for method, costs in COSTS.items()), default=(0, ""))


def quota_for_metric(metric: str | None) -> Quota | None:
    """The quota a 429's ``quota_metric`` names, if it is one of ours."""
    return next((quota for quota in QUOTAS if quota.metric == metric), None)


class Charge:
    """Units one call took from a :class:`MinuteWindow` before it was sent.

    A server counts a call when it arrives, which the sender cannot see: some time after it
    was sent (a wait for a connection, the network, a server that stalls) and before its answer
    came back. So a charge counts as made at every moment until the call is answered, and from
    the answer on as made then: the sender never believes a unit has left the server's minute
    before it has, however late the call arrived."""

    __slots__ = ("answered_at", "units")

    def __init__(self, units: float) -> None:
        self.units = units
        self.answered_at: float | None = None


class MinuteWindow:
    """The units charged in the last :data:`WINDOW` seconds, as a quota counts them.

    Pure: the caller passes the time, never going back. ``charge`` records units counted at
    ``now`` (the server's side: a call counted as it arrives); ``hold`` records units of a call
    about to be sent, counted as made now at every look until ``answered`` dates them to the
    answer (the sender's side, see :class:`Charge`). ``used`` is what the window holds at
    ``now``; ``room_at`` is the earliest time at which ``units`` more can fit under ``limit``.
    """

    def __init__(self) -> None:
        self._charges: deque[tuple[float, float]] = deque()  # (counted at, units), in order
        self._total = 0.0
        self._held: set[Charge] = set()  # calls not answered yet
        self._held_total = 0.0

    def _expire(self, now: float) -> None:
        while self._charges and self._charges[0][0] <= now - WINDOW:
            _, units = self._charges.popleft()
            self._total -= units
        if not self._charges:
            self._total = 0.0  # no float residue once empty

    def used(self, now: float) -> float:
        self._expire(now)
        return self._total + self._held_total

    def charge(self, now: float, units: float) -> None:
        self._expire(now)
        self._charges.append((now, units))
        self._total += units

    def hold(self, now: float, units: float) -> Charge:
        """Units of a call about to be sent: they count until :meth:`answered`."""
        self._expire(now)
        held = Charge(units)
        self._held.add(held)
        self._held_total += units
        return held

    def answered(self, held: Charge, now: float) -> None:
        """The call of ``held`` was answered (or failed) at ``now``: the server counted it by
        then, so its units stay in the window until a minute after ``now``."""
        if held not in self._held:
            return
        self._held.remove(held)
        self._held_total = self._held_total - held.units if self._held else 0.0
        held.answered_at = now
        self.charge(now, held.units)

    def room_at(self, now: float, units: float, limit: float) -> float:
        """The earliest time, ``now`` or later, when ``units`` more may fit under ``limit``
        (units held by calls in flight leave no earlier than a minute from now)."""
        self._expire(now)
        excess = self._total + self._held_total + units - limit
        if excess <= 1e-9:
            return now
        for stamp, charged in self._charges:
            excess -= charged
            if excess <= 1e-9:
                return stamp + WINDOW
        return now + WINDOW
