"""Splitting work into API-sized chunks and reading per-item errors out of a rejected batch.

``batchCreateContacts`` and ``batchUpdateContacts`` reject a whole call when some items are bad
and name them in ``BatchCreateContactsErrorDetails.contactErrors`` (by index) or
``BatchUpdateContactsErrorDetails.contactErrors`` (by resource name); items not named would have
succeeded. The client gives the named items their own errors and reports the rest as not
applied; whoever owns the batch (the apply engine) sends those again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from reconciler.people.errors import PeopleError, classify_status

__all__ = ["chunks", "item_errors", "mask"]

T = TypeVar("T")
ERROR_DETAIL_TYPES = (
    "BatchCreateContactsErrorDetails",
    "BatchUpdateContactsErrorDetails",
    "BatchDeleteContactsErrorDetails",
)


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1: {size}")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def mask(fields: str | Sequence[str]) -> str:
    """``["names", "emailAddresses"]`` or ``"names,emailAddresses"`` -> the wire form."""
    if isinstance(fields, str):
        return fields
    return ",".join(fields)


def _entries(contact_errors: object) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(contact_errors, Mapping):
        for key, status in contact_errors.items():
            if isinstance(status, Mapping):
                yield str(key), status
    elif isinstance(contact_errors, list):
        for position, entry in enumerate(contact_errors):
            if not isinstance(entry, Mapping):
                continue
            key = entry.get("resourceName", entry.get("index", position))
            status = entry.get("status", entry)
            if isinstance(status, Mapping):
                yield str(key), status


def item_errors(
    error: PeopleError, sent: Sequence[str], *, by_position: bool
) -> dict[str, PeopleError]:
    """The items of ``sent`` that ``error`` names as failed, each with its own classified error.

    ``by_position``: the detail keys are indexes into ``sent`` (creates), else the keys
    themselves (resource names, updates). Unknown keys are ignored.
    """
    failed: dict[str, PeopleError] = {}
    for detail in error.details:
        kind = str(detail.get("@type", ""))
        if not kind.endswith(ERROR_DETAIL_TYPES):
            continue
        for key, status in _entries(detail.get("contactErrors")):
            if by_position:
                if not key.isdigit() or int(key) >= len(sent):
                    continue
                item = sent[int(key)]
            else:
                if key not in sent:
                    continue
                item = key
            failed[item] = classify_status(
                status, method=error.method, resource=None if by_position else item
            )
    return failed
