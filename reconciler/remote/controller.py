"""Read a running controller's ``/status``: one GET, and a clear error when nobody answers."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["StatusUnavailable", "fetch_status"]


class StatusUnavailable(Exception):
    """The controller could not be reached or did not answer with its status."""


def fetch_status(base: str, account: str | None = None, *, timeout: float = 10.0) -> Any:
    """The JSON of ``{base}/status`` (or ``/status/{account}``)."""
    url = base.rstrip("/") + "/status" + (f"/{account}" if account else "")
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as error:
        raise StatusUnavailable(f"cannot reach the controller at {url}: {error}") from error
    if response.status_code == 404 and account:
        raise StatusUnavailable(f"the controller at {base} has no account named {account!r}")
    if response.status_code != 200:
        raise StatusUnavailable(f"{url} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as error:
        raise StatusUnavailable(f"{url} did not answer JSON: is it a controller?") from error
