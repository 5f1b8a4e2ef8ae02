"""Errors are classified from status and body together, as Google sends them."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.people.errors import (
    Conflict,
    InvalidArgument,
    MissingEtag,
    NotFound,
    PeopleError,
    PermissionDenied,
    RateLimited,
    ServerError,
    StaleEtag,
    SyncTokenExpired,
    Unauthenticated,
    classify,
    classify_status,
)

STALE = (
    "Request person.etag is different than the current person.etag. "
    "Clear local cache and get the latest person."
)
MISSING = (
    "Request must set person.etag or person.metadata.sources.etag for the source that is being "
    "updated."
)
EXPIRED = "Sync token is expired. Clear local cache and retry call without the sync token."


def body(code: int, status: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, **extra}}


def error_info(reason: str, **metadata: str) -> dict[str, Any]:
    return {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "people.googleapis.com",
        "metadata": metadata,
    }


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (
            400,
            body(
                400,
                "FAILED_PRECONDITION",
                STALE,
                errors=[{"message": STALE, "domain": "global", "reason": "failedPrecondition"}],
            ),
            StaleEtag,
        ),
        (400, body(400, "INVALID_ARGUMENT", MISSING), MissingEtag),
        (400, body(400, "FAILED_PRECONDITION", MISSING), MissingEtag),
        (
            400,
            body(400, "FAILED_PRECONDITION", EXPIRED, details=[error_info("EXPIRED_SYNC_TOKEN")]),
            SyncTokenExpired,
        ),
        (410, body(410, "GONE", "gone"), SyncTokenExpired),
        (400, body(400, "INVALID_ARGUMENT", "Invalid personFields mask path"), InvalidArgument),
        (401, body(401, "UNAUTHENTICATED", "Request is missing credential"), Unauthenticated),
        (
            403,
            body(403, "PERMISSION_DENIED", "The caller does not have permission"),
            PermissionDenied,
        ),
        (404, body(404, "NOT_FOUND", "Requested entity was not found."), NotFound),
        (409, body(409, "ABORTED", "Contact group etag is outdated"), Conflict),
        (409, body(409, "ALREADY_EXISTS", "Contact group name already exists"), Conflict),
        (500, body(500, "INTERNAL", "Internal error encountered."), ServerError),
        (503, body(503, "UNAVAILABLE", "The service is currently unavailable."), ServerError),
        (502, b"<html>bad gateway</html>", ServerError),
    ],
)
def test_each_response_maps_to_its_class(
    status: int, payload: object, expected: type[PeopleError]
) -> None:
    """The class depends on status and body; every class is a PeopleError."""
    error = classify(status, payload, method="people.updateContact", resource="people/c1")
    assert type(error) is expected
    assert isinstance(error, PeopleError)
    assert error.status == status


def test_a_failed_precondition_not_about_etags_is_not_a_stale_etag() -> None:
    """Only an etag message makes FAILED_PRECONDITION a stale etag; anything else is terminal."""
    payload = body(
        400,
        "FAILED_PRECONDITION",
        "A contact must have at least one membership.",
        errors=[{"reason": "failedPrecondition"}],
    )
    assert type(classify(400, payload)) is InvalidArgument


def test_rate_limited_reads_retry_after_and_the_quota_metric() -> None:
    """429 carries the Retry-After seconds and the quota metric from ErrorInfo."""
    metric = "people.googleapis.com/critical_write_requests"
    payload = body(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded",
        details=[error_info("RATE_LIMIT_EXCEEDED", quota_metric=metric)],
    )
    error = classify(429, payload, retry_after="7")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7.0
    assert error.quota_metric == metric
    assert error.retryable
    assert classify(429, payload, retry_after="Wed, 21 Oct 2015 07:28:00 GMT").retry_after is None  # type: ignore[attr-defined]


def test_legacy_403_rate_limit_is_rate_limited() -> None:
    """A 403 with reason rateLimitExceeded is a quota error, not a permission error."""
    payload = body(403, "PERMISSION_DENIED", "slow down", errors=[{"reason": "rateLimitExceeded"}])
    assert isinstance(classify(403, payload), RateLimited)


def test_only_server_side_and_quota_errors_are_retryable() -> None:
    """Stale etags, bad arguments and auth failures are never retried by the client."""
    assert classify(500, {}).retryable
    for status in (400, 401, 403, 404, 409, 410):
        assert not classify(status, {}).retryable


def test_batch_item_status_codes_are_grpc_codes() -> None:
    """Per-item google.rpc.Status codes map like their HTTP equivalents."""
    assert isinstance(classify_status({"code": 5, "message": "gone"}), NotFound)
    assert isinstance(classify_status({"code": 9, "message": STALE}), StaleEtag)
    assert isinstance(classify_status({"code": 3, "message": "bad"}), InvalidArgument)
    assert isinstance(classify_status({"code": 14}), ServerError)


def test_messages_name_the_call_not_the_payload() -> None:
    """str() gives method, resource, status and the server message, and nothing else."""
    error = classify(
        404, body(404, "NOT_FOUND", "Requested entity was not found."), method="people.get",
        resource="people/c9",
    )  # fmt: skip
    assert str(error) == "people.get people/c9 HTTP 404 NOT_FOUND: Requested entity was not found."
    assert "NotFound(" in repr(error)
