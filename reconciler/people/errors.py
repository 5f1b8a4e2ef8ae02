"""Errors the People API edge raises, and the one place that decides which one a response is.

Google reports the same HTTP status for very different situations (a stale etag and an expired
sync token are both 400 FAILED_PRECONDITION), so classification reads the status code *and* the
body: the canonical ``status``, the message, the legacy ``errors[].reason`` and the ``ErrorInfo``
details. Callers branch on exception types, never on strings.

Messages carry the server's message and our own context (method id, resource name), never a
request header, a token or a contact body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Conflict",
    "InvalidArgument",
    "MissingEtag",
    "NotApplied",
    "NotFound",
    "PeopleError",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "StaleEtag",
    "SyncTokenExpired",
    "TransportError",
    "Unauthenticated",
    "UnknownOutcome",
    "classify",
    "classify_status",
]

# Both stale-etag messages: "Request person.etag is different than the current person.etag..."
# and, for an update that sent only metadata.sources[].etag, "Request
# person.metadata.sources.etag is different than the current person.metadata.sources.etag..."
# (docs/people-api.md, "Etags and consistency").
STALE_ETAG_MESSAGE = "etag is different than the current person."
MISSING_ETAG_MESSAGE = "must set person.etag"
EXPIRED_SYNC_TOKEN = "EXPIRED_SYNC_TOKEN"
MAX_MESSAGE = 300

# google.rpc.Code -> HTTP status, for per-item statuses inside batch responses.
GRPC_TO_HTTP: dict[int, int] = {
    0: 200,
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}
GRPC_NAMES: dict[int, str] = {
    3: "INVALID_ARGUMENT",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}


class PeopleError(Exception):
    """Anything the People API edge reports. ``retryable`` says whether trying again can help."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        method: str | None = None,
        resource: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message[:MAX_MESSAGE]
        self.details = details or []
        self.status = status
        self.reason = reason
        self.method = method
        self.resource = resource
        super().__init__(self.message)

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                self.method or "",
                self.resource or "",
                f"HTTP {self.status}" if self.status is not None else "",
                self.reason or "",
            )
            if part
        )
        return f"{where}: {self.message}" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def log_fields(self) -> dict[str, Any]:
        """What a log line about this error may say beyond its class and status (never a
        contact's fields nor a credential)."""
        return {}


class StaleEtag(PeopleError):
    """The etag sent is not the current one: re-read, merge and try again (the caller's job)."""


class MissingEtag(PeopleError):
    """An update was sent without an etag; a bug in the caller, not retryable."""


class SyncTokenExpired(PeopleError):
    """The sync token is no longer valid (400 EXPIRED_SYNC_TOKEN or 410): do a full listing."""


class RateLimited(PeopleError):
    """429 RESOURCE_EXHAUSTED. ``retry_after`` is the server's hint in seconds, if it gave one."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        quota_metric: str | None = None,
        quota_limit: str | None = None,
        quota_limit_value: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after
        self.quota_metric = quota_metric  # e.g. people.googleapis.com/critical_read_requests
        self.quota_limit = quota_limit  # e.g. CriticalReadsPerMinutePerProjectPerUser
        self.quota_limit_value = quota_limit_value  # the limit in units a minute, e.g. "90"

    def log_fields(self) -> dict[str, Any]:
        """The quota that refused the call, as the 429's ErrorInfo named it (what is missing
        is left out: some 429s name none), and the server's Retry-After."""
        fields = {
            "quota_metric": self.quota_metric,
            "quota_limit": self.quota_limit,
            "quota_limit_value": self.quota_limit_value,
            "retry_after": self.retry_after,
        }
        return {name: value for name, value in fields.items() if value is not None}


class NotFound(PeopleError):
    """The resource does not exist (404)."""


class Conflict(PeopleError):
    """409: a contact group etag is outdated, or a group with that name already exists."""


class Unauthenticated(PeopleError):
    """401 after one token refresh: the credentials are wrong or revoked. Terminal."""


class PermissionDenied(PeopleError):
    """403: the credentials do not allow this (scope, delegation). Terminal."""


class InvalidArgument(PeopleError):
    """400 the server will reject however often it is sent. Terminal."""


class ServerError(PeopleError):
    """5xx: the server failed; retrying may help."""

    retryable = True


class TransportError(PeopleError):
    """The request did not complete (connection refused, reset, timeout)."""

    retryable = True


class NotApplied(PeopleError):
    """Not written because another item of the same all-or-nothing batch call failed; the item
    itself was not refused, so sending it again (without the failing ones) is safe."""


class UnknownOutcome(PeopleError):
    """A create was sent but its answer was lost: it may or may not exist. Never retried blindly;
    the caller must list to find out."""


def _error_body(body: object) -> dict[str, Any]:
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body or b"{}")
        except ValueError:
            return {}
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return dict(error)
    return {}


def _reasons(error: Mapping[str, Any]) -> set[str]:
    reasons: set[str] = set()
    for detail in error.get("details") or ():
        if isinstance(detail, Mapping) and isinstance(detail.get("reason"), str):
            reasons.add(detail["reason"])
    for legacy in error.get("errors") or ():
        if isinstance(legacy, Mapping) and isinstance(legacy.get("reason"), str):
            reasons.add(legacy["reason"])
    return reasons


def _quota_info(error: Mapping[str, Any], key: str) -> str | None:
    """``quota_metric``, ``quota_limit`` or ``quota_limit_value`` from the ErrorInfo metadata
    of a 429."""
    for detail in error.get("details") or ():
        if isinstance(detail, Mapping):
            metadata = detail.get("metadata")
            if isinstance(metadata, Mapping) and isinstance(metadata.get(key), str):
                return str(metadata[key])
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds only; dates are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


def classify(
    status: int,
    body: object,
    *,
    retry_after: str | None = None,
    method: str | None = None,
    resource: str | None = None,
) -> PeopleError:
    """Turn a non-2xx response (status + JSON body) into the matching :class:`PeopleError`."""
    error = _error_body(body)
    message = str(error.get("message") or f"HTTP {status}")
    canonical = error.get("status") if isinstance(error.get("status"), str) else None
    reasons = _reasons(error)
    context: dict[str, Any] = {
        "status": status,
        "reason": canonical,
        "method": method,
        "resource": resource,
        "details": [d for d in error.get("details") or () if isinstance(d, dict)],
    }
    if status == 410 or EXPIRED_SYNC_TOKEN in reasons or "Sync token is expired" in message:
        return SyncTokenExpired(message, **context)
    if status == 429 or (
        status == 403 and reasons & {"rateLimitExceeded", "userRateLimitExceeded"}
    ):
        return RateLimited(
            message,
            retry_after=parse_retry_after(retry_after),
            quota_metric=_quota_info(error, "quota_metric"),
            quota_limit=_quota_info(error, "quota_limit"),
            quota_limit_value=_quota_info(error, "quota_limit_value"),
            **context,
        )
    if status == 400:
        if MISSING_ETAG_MESSAGE in message:
            return MissingEtag(message, **context)
        if STALE_ETAG_MESSAGE in message or (
            canonical == "FAILED_PRECONDITION"
            and "failedPrecondition" in reasons
            and "etag" in message.lower()
        ):
            return StaleEtag(message, **context)
        return InvalidArgument(message, **context)
    if status == 401:
        return Unauthenticated(message, **context)
    if status == 403:
        return PermissionDenied(message, **context)
    if status == 404:
        return NotFound(message, **context)
    if status == 409:
        return Conflict(message, **context)
    if status >= 500:
        return ServerError(message, **context)
    return InvalidArgument(message, **context)


def classify_status(
    status: Mapping[str, Any], *, method: str | None = None, resource: str | None = None
) -> PeopleError:
    """Classify a per-item ``google.rpc.Status`` (``{code, message, details}``) from a batch."""
    code = status.get("code")
    grpc = code if isinstance(code, int) else 2
    body = {
        "error": {
            "code": GRPC_TO_HTTP.get(grpc, 500),
            "message": status.get("message") or "",
            "status": GRPC_NAMES.get(grpc),
            "details": status.get("details") or [],
        }
    }
    return classify(GRPC_TO_HTTP.get(grpc, 500), body, method=method, resource=resource)
