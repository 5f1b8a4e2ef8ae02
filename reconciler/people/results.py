"""What the client hands back: listings, per-item outcomes of batch calls, request statistics.

Persons and groups are plain People API JSON dicts (camelCase), the form the rest of the product
works with; every write result carries the person and etag the server answered with, so that
callers chain etags instead of trusting a read that may lag.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reconciler.people.errors import PeopleError

__all__ = ["CallResult", "ClientStats", "ItemResult", "Listing", "latest_copies"]


def latest_copies(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per ``resourceName``: the last one seen, at the place it was last seen.

    Pages are read one request at a time and listed oldest change first, so a contact edited
    while a listing is read moves behind the page cursor and comes back on a later page, newer.
    Two copies with different etags but one ownership stamp would look like two contacts to the
    planner; the later copy is the current one. Entries without a name are kept as they are.
    """
    latest: dict[Any, dict[str, Any]] = {}
    for position, person in enumerate(people):
        key = person.get("resourceName") or ("unnamed", position)
        latest.pop(key, None)
        latest[key] = person
    return list(latest.values())


@dataclass(frozen=True)
class Listing:
    """A finished listing. ``complete`` is True only when every page was read; a listing that
    failed part-way raises instead, so a caller can never mistake it for an empty address book.
    With a sync token, ``people`` holds changes and tombstones (``metadata.deleted``)."""

    people: list[dict[str, Any]]
    next_sync_token: str | None
    complete: bool
    pages: int
    incremental: bool = False
    restarts: int = 0  # reads thrown away because the list shifted under the page cursor

    @property
    def deleted(self) -> list[str]:
        """Resource names of tombstones (incremental listings only)."""
        return [
            str(p.get("resourceName"))
            for p in self.people
            if (p.get("metadata") or {}).get("deleted")
        ]


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one item of a batch call: the person the server answered, or an error."""

    key: str
    person: dict[str, Any] | None = None
    error: PeopleError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def resource_name(self) -> str | None:
        name = (self.person or {}).get("resourceName")
        return str(name) if name is not None else None

    @property
    def etag(self) -> str | None:
        etag = (self.person or {}).get("etag")
        return str(etag) if etag is not None else None


@dataclass(frozen=True)
class CallResult:
    """The outcome of one call inside a multipart ``/batch``."""

    content_id: str
    status: int
    body: Any = None
    error: PeopleError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ClientStats:
    """HTTP requests by method id and by status. ``/batch`` is one request (method ``batch``);
    its inner calls are counted in ``inner``. ``throttled`` counts 429s seen (retried or not)."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    by_method_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    inner: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    paced: float = 0.0  # seconds spent waiting for the pacer's tokens

    def record(self, method: str, status: int | str) -> None:
        self.requests[method] += 1
        self.statuses[str(status)] += 1
        self.by_method_status[(method, str(status))] += 1

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "statuses": dict(self.statuses),
            "inner": dict(self.inner),
            "retries": self.retries,
            "throttled": self.throttled,
            "paced": round(self.paced, 3),
        }
