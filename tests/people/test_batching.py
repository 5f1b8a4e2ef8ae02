"""Per-item errors are read out of a rejected batch call."""

from __future__ import annotations

from reconciler.people.batching import chunks, item_errors, mask
from reconciler.people.errors import InvalidArgument, NotFound, StaleEtag, classify

STALE = (
    "Request person.etag is different than the current person.etag. "
    "Clear local cache and get the latest person."
)


def rejected(detail: dict[str, object]) -> InvalidArgument:
    error = classify(
        400,
        {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "x", "details": [detail]}},
        method="people.batchUpdateContacts",
    )
    assert isinstance(error, InvalidArgument)
    return error


def test_update_errors_are_keyed_by_resource_name() -> None:
    """BatchUpdateContactsErrorDetails names failing contacts; each gets its own class."""
    error = rejected(
        {
            "@type": "type.googleapis.com/google.people.v1.BatchUpdateContactsErrorDetails",
            "contactErrors": {
                "people/c2": {"code": 9, "message": STALE},
                "people/c3": {"code": 5, "message": "Requested entity was not found."},
                "people/unknown": {"code": 3},
            },
        }
    )
    failed = item_errors(error, ["people/c1", "people/c2", "people/c3"], by_position=False)
    assert set(failed) == {"people/c2", "people/c3"}
    assert isinstance(failed["people/c2"], StaleEtag)
    assert isinstance(failed["people/c3"], NotFound)
    assert failed["people/c3"].resource == "people/c3"


def test_create_errors_are_keyed_by_position() -> None:
    """BatchCreateContactsErrorDetails keys are indexes into what was sent."""
    error = rejected(
        {
            "@type": "type.googleapis.com/google.people.v1.BatchCreateContactsErrorDetails",
            "contactErrors": {"1": {"code": 3, "message": "bad phone"}},
        }
    )
    assert list(item_errors(error, ["10", "11", "12"], by_position=True)) == ["11"]
    listed = rejected(
        {
            "@type": "type.googleapis.com/google.people.v1.BatchCreateContactsErrorDetails",
            "contactErrors": [{"index": 2, "status": {"code": 3}}],
        }
    )
    assert list(item_errors(listed, ["10", "11", "12"], by_position=True)) == ["12"]


def test_other_details_name_nothing() -> None:
    """An error without batch details marks no item."""
    error = rejected({"@type": "type.googleapis.com/google.rpc.BadRequest"})
    assert item_errors(error, ["people/c1"], by_position=False) == {}


def test_chunks_and_masks() -> None:
    """Chunks are consecutive and bounded; masks accept lists or strings."""
    assert list(chunks(list(range(5)), 2)) == [[0, 1], [2, 3], [4]]
    assert mask(["names", "emailAddresses"]) == "names,emailAddresses"
    assert mask("names") == "names"
