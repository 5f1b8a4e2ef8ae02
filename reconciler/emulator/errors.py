"""Google-style error bodies.

Every failure the emulator reports is an :class:`ApiError` raised from deep inside a handler and
turned into one JSON body at the edge, shaped exactly like Google's: ``{"error": {"code",
"message", "status", "details", "errors": [{"message", "domain", "reason"}]}}``.
Clients classify errors from these bodies, so the shapes here are part of the emulator's fidelity.
"""

from __future__ import annotations

from typing import Any

from reconciler.model.quotas import Quota

NOT_FOUND_MESSAGE = "Requested entity was not found."
STALE_ETAG_MESSAGE = (
    "Request person.etag is different than the current person.etag. "
    "Clear local cache and get the latest person."
)
MISSING_ETAG_MESSAGE = (
    "Request must set person.etag or person.metadata.sources.etag for the source that is being "
    "updated."
)
EXPIRED_SYNC_TOKEN_MESSAGE = (
    "Sync token is expired. Clear local cache and retry call without the sync token."
)
STALE_SOURCE_ETAG_MESSAGE = (
    "Request person.metadata.sources.etag is different than the current "
    "person.metadata.sources.etag. Clear local cache and get the latest person."
)
STALE_GROUP_ETAG_MESSAGE = "Contact group etag is outdated"
UNAUTHENTICATED_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
DOMAIN = "people.googleapis.com"
QUOTA_DOMAIN = "googleapis.com"
"""Quota errors come from Google's API front end, whose ErrorInfo domain is googleapis.com."""
PROJECT_NUMBER = "123456789012"
"""The made-up Cloud project every emulator quota error names as its consumer."""

HTTP_CODES: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}

RPC_CODES: dict[str, int] = {
    "INVALID_ARGUMENT": 3,
    "FAILED_PRECONDITION": 9,
    "OUT_OF_RANGE": 11,
    "UNAUTHENTICATED": 16,
    "PERMISSION_DENIED": 7,
    "NOT_FOUND": 5,
    "ABORTED": 10,
    "ALREADY_EXISTS": 6,
    "RESOURCE_EXHAUSTED": 8,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
}

LEGACY_REASONS: dict[str, str] = {
    "INVALID_ARGUMENT": "badRequest",
    "FAILED_PRECONDITION": "failedPrecondition",
    "OUT_OF_RANGE": "badRequest",
    "UNAUTHENTICATED": "required",
    "PERMISSION_DENIED": "forbidden",
    "NOT_FOUND": "notFound",
    "ABORTED": "aborted",
    "ALREADY_EXISTS": "duplicate",
    "RESOURCE_EXHAUSTED": "rateLimitExceeded",
    "INTERNAL": "backendError",
    "UNAVAILABLE": "backendError",
}


class ApiError(Exception):
    """A failure to report to the caller as a Google error body."""

    def __init__(
        self,
        status: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        legacy_domain: str = "global",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = HTTP_CODES[status]
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        self.legacy_domain = legacy_domain

    def rpc_status(self) -> dict[str, Any]:
        """The ``google.rpc.Status`` of this error, as batch responses carry it per item."""
        return {"code": RPC_CODES[self.status], "message": self.message}

    def body(self) -> dict[str, Any]:
        """The JSON body Google would send for this error."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
        }
        if self.details:
            error["details"] = self.details
        error["errors"] = [
            {
                "message": self.message,
                "domain": self.legacy_domain,
                "reason": LEGACY_REASONS[self.status],
            }
        ]
        return {"error": error}


def bad_request(message: str, field: str | None = None) -> ApiError:
    """400 INVALID_ARGUMENT, with a BadRequest field violation when a field is named."""
    details: list[dict[str, Any]] = []
    if field is not None:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": field, "description": message}],
            }
        )
    return ApiError("INVALID_ARGUMENT", message, details=details)


def not_found() -> ApiError:
    """404 with Google's fixed message."""
    return ApiError("NOT_FOUND", NOT_FOUND_MESSAGE)


def stale_etag(*, source: bool = False) -> ApiError:
    """The exact 400 Google sends for an update carrying an outdated etag: the person's, or
    (``source``) only the CONTACT source's in ``metadata.sources[].etag``, whose message names
    that field instead (docs/people-api.md, "Etags and consistency")."""
    return ApiError(
        "FAILED_PRECONDITION", STALE_SOURCE_ETAG_MESSAGE if source else STALE_ETAG_MESSAGE
    )


def missing_etag() -> ApiError:
    """The 400 Google sends for an update without any etag."""
    return ApiError("FAILED_PRECONDITION", MISSING_ETAG_MESSAGE)


def error_info(
    reason: str, metadata: dict[str, str] | None = None, *, domain: str = DOMAIN
) -> dict[str, Any]:
    """A ``google.rpc.ErrorInfo`` detail."""
    info: dict[str, Any] = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": domain,
    }
    if metadata:
        info["metadata"] = metadata
    return info


def expired_sync_token() -> ApiError:
    """400 FAILED_PRECONDITION with ErrorInfo EXPIRED_SYNC_TOKEN, as Google sends today."""
    return ApiError(
        "FAILED_PRECONDITION",
        EXPIRED_SYNC_TOKEN_MESSAGE,
        details=[error_info("EXPIRED_SYNC_TOKEN")],
    )


def unauthenticated() -> ApiError:
    """401 for a request without a bearer token."""
    return ApiError(
        "UNAUTHENTICATED",
        UNAUTHENTICATED_MESSAGE,
        details=[error_info("CREDENTIALS_MISSING", {"service": DOMAIN, "method": "unknown"})],
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
        legacy_domain="login",
    )


def rate_limited(quota: Quota, retry_after: int, *, limit: int, per_user: bool = True) -> ApiError:
    """429 RESOURCE_EXHAUSTED as Google words it (docs/people-api.md, "Errors and quotas").

    The ErrorInfo (reason ``RATE_LIMIT_EXCEEDED``, domain ``googleapis.com``) says which quota
    refused the call, so that a client can log and slow the right one: its metric id
    (``people.googleapis.com/critical_read_requests``), its limit id
    (``CriticalReadsPerMinutePerProjectPerUser``, or for the project's own quota
    ``CriticalReadsPerMinutePerProject``, whose message has no "per user"), the limit's value
    (``limit`` units), its unit (``1/min/{project}/{user}`` or ``1/min/{project}``), its
    location and the consumer project, as Google's API front end answers any per-minute quota;
    the message quotes the console name (``Critical read requests (Contact and Profile
    Reads)``). Retry-After is the emulator's own courtesy (whether Google sends it is not known).
    """
    display = quota.display
    scope = "per minute per user" if per_user else "per minute"
    message = (
        f"Quota exceeded for quota metric '{display}' and limit '{display} {scope}' "
        f"of service '{DOMAIN}' for consumer 'project_number:{PROJECT_NUMBER}'."
    )
    return ApiError(
        "RESOURCE_EXHAUSTED",
        message,
        details=[
            error_info(
                "RATE_LIMIT_EXCEEDED",
                {
                    "consumer": f"projects/{PROJECT_NUMBER}",
                    "quota_limit": quota.limit(per_user=per_user),
                    "quota_limit_value": str(limit),
                    "quota_location": "global",
                    "quota_metric": quota.metric,
                    "quota_unit": "1/min/{project}/{user}" if per_user else "1/min/{project}",
                    "service": DOMAIN,
                },
                domain=QUOTA_DOMAIN,
            )
        ],
        headers={"Retry-After": str(retry_after)},
    )
