"""The /batch codec: what we encode parses as Google's format, and answers match by Content-ID."""

from __future__ import annotations

import json

import pytest

from reconciler.emulator.batch import InnerResponse as ServerResponse
from reconciler.emulator.batch import encode_batch_response, parse_batch
from reconciler.people.multipart import (
    BatchCodecError,
    InnerRequest,
    decode_responses,
    encode_requests,
    response_key,
)


def calls() -> list[InnerRequest]:
    return [
        InnerRequest(
            "PATCH",
            "/v1/people/c1:updateContact",
            params=(("updatePersonFields", "names"), ("personFields", "metadata")),
            body={"resourceName": "people/c1", "etag": "e1", "names": [{"givenName": "Ä"}]},
            content_id="abc + 1",
        ),
        InnerRequest("DELETE", "/v1/contactGroups/g1", content_id="abc + 2"),
    ]


def test_encoded_requests_parse_as_a_batch() -> None:
    """Each call becomes an application/http part with its Content-ID, path-only request line
    and JSON body."""
    content_type, body = encode_requests(calls(), boundary="b0undary")
    assert content_type == "multipart/mixed; boundary=b0undary"
    parsed = parse_batch(content_type, body)
    assert [(c.method, c.target, c.content_id) for c in parsed] == [
        (
            "PATCH",
            "/v1/people/c1:updateContact?updatePersonFields=names&personFields=metadata",
            "<abc + 1>",
        ),
        ("DELETE", "/v1/contactGroups/g1", "<abc + 2>"),
    ]
    assert json.loads(parsed[0].body)["names"] == [{"givenName": "Ä"}]
    assert parsed[1].body == b""


def test_out_of_order_answers_are_matched_by_content_id() -> None:
    """Parts answered in any order land on the call that asked, each with its own status."""
    ok = ServerResponse(200, (("Content-Type", "application/json"),), b'{"etag": "e2"}')
    gone = ServerResponse(404, (), b'{"error": {"code": 404, "status": "NOT_FOUND"}}')
    raw = encode_batch_response([("<abc + 2>", gone), ("<abc + 1>", ok)], "resp")
    answers = decode_responses("multipart/mixed; boundary=resp", raw, ["abc + 1", "abc + 2"])
    assert answers["abc + 1"].status == 200
    assert answers["abc + 1"].json() == {"etag": "e2"}
    assert answers["abc + 1"].headers["content-type"] == "application/json"
    assert answers["abc + 2"].status == 404


def test_lf_only_answers_are_understood() -> None:
    """A server that writes bare LF line endings is still parsed."""
    raw = (
        b"--x\nContent-Type: application/http\nContent-ID: <response-7>\n\n"
        b"HTTP/1.1 429 Too Many Requests\nRetry-After: 3\n\n{}\n--x--\n"
    )
    answer = decode_responses('multipart/mixed; boundary="x"', raw, ["7"])["7"]
    assert (answer.status, answer.headers["retry-after"], answer.json()) == (429, "3", {})


def test_a_missing_answer_is_an_error() -> None:
    """Every call must be answered; a missing part is reported, not silently dropped."""
    raw = encode_batch_response([("<1>", ServerResponse(200, (), b"{}"))], "b")
    with pytest.raises(BatchCodecError, match="1 missing"):
        decode_responses("multipart/mixed; boundary=b", raw, ["1", "2"])
    with pytest.raises(BatchCodecError, match="not a multipart"):
        decode_responses("application/json", b"{}", ["1"])


def test_response_ids_strip_brackets_and_prefix() -> None:
    """<response-UUID + 1> answers <UUID + 1>."""
    assert response_key("<response-UUID + 1>") == "UUID + 1"
    assert response_key("<UUID + 1>") == "UUID + 1"


def test_batches_are_bounded_and_ids_unique() -> None:
    """At most 1000 calls, at least one, no repeated Content-ID."""
    with pytest.raises(ValueError, match="at most 1000"):
        encode_requests([InnerRequest("GET", "/v1/x") for _ in range(1001)])
    with pytest.raises(ValueError, match="at least one"):
        encode_requests([])
    with pytest.raises(ValueError, match="unique"):
        encode_requests([InnerRequest("GET", "/v1/x", content_id="1")] * 2)
