"""The People API edge: the only package that talks HTTP or to google-auth.

Everything the product knows about the API's quirks (error shapes, etags, sync tokens, quotas,
batch limits, the multipart ``/batch`` format) is encoded here once. Importing this package is
cheap: the client, httpx and google-auth load on first use of :func:`connect` or
:class:`PeopleClient`, so commands that never touch the API never pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.people.client import PeopleClient
    from reconciler.people.results import CallResult, ClientStats, ItemResult, Listing
    from reconciler.people.targets import connect
    from reconciler.people.transport import ClientConfig

__all__ = [
    "CallResult",
    "ClientConfig",
    "ClientStats",
    "ItemResult",
    "Listing",
    "PeopleClient",
    "connect",
]

_LOCATIONS = {
    "CallResult": "reconciler.people.results",
    "ClientConfig": "reconciler.people.transport",
    "ClientStats": "reconciler.people.results",
    "ItemResult": "reconciler.people.results",
    "Listing": "reconciler.people.results",
    "PeopleClient": "reconciler.people.client",
    "connect": "reconciler.people.targets",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'reconciler.people' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
