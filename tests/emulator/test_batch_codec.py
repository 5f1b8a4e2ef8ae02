"""The multipart/mixed batch codec: parsing requests and encoding responses, no server involved."""

from __future__ import annotations

import contextlib
import email.parser

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconciler.emulator.batch import (
    BatchFormatError,
    InnerRequest,
    InnerResponse,
    boundary_from_content_type,
    encode_batch_response,
    merge_headers,
    parse_batch,
    response_content_id,
    split_parts,
)
from reconciler.model.limits import MAX_MULTIPART_CALLS

CT = 'multipart/mixed; boundary="b0"'

# What google-api-python-client sends: LF line endings, MIME headers, a full request per part.
GOOGLE_STYLE = (
    b"--b0\n"
    b"Content-Type: application/http\n"
    b"MIME-Version: 1.0\n"
    b"Content-Transfer-Encoding: binary\n"
    b"Content-ID: <8a1f + 1>\n"
    b"\n"
    b"GET /v1/people/c1?personFields=names&alt=json HTTP/1.1\n"
    b"Content-Type: application/json\n"
    b"MIME-Version: 1.0\n"
    b"accept: application/json\n"
    b"Host: 127.0.0.1:9\n"
    b"authorization: Bearer user:alice@example.com\n"
    b"\n"
    b"\n"
    b"--b0\n"
    b"Content-Type: application/http\n"
    b"Content-ID: <8a1f + 2>\n"
    b"\n"
    b"POST /v1/people:createContact?alt=json HTTP/1.1\n"
    b"Content-Type: application/json\n"
    b"content-length: 33\n"
    b"\n"
    b'{"names": [{"givenName": "Ada"}]} trailing bytes past Content-Length\n'
    b"--b0--\n"
)


def crlf(body: bytes) -> bytes:
    return body.replace(b"\n", b"\r\n")


def test_google_style_request_is_parsed_part_by_part() -> None:
    """Each part becomes one call with its method, path-only target, headers, body and id."""
    first, second = parse_batch(CT, GOOGLE_STYLE)
    assert first.method == "GET"
    assert first.target == "/v1/people/c1?personFields=names&alt=json"
    assert first.path == "/v1/people/c1"
    assert first.query == "personFields=names&alt=json"
    assert ("authorization", "Bearer user:alice@example.com") in first.headers
    assert first.body == b""
    assert first.content_id == "<8a1f + 1>"
    assert second.method == "POST"
    assert second.body == b'{"names": [{"givenName": "Ada"}]}'  # cut at Content-Length
    assert second.content_id == "<8a1f + 2>"


def test_crlf_line_endings_parse_the_same_as_lf() -> None:
    """A body with CRLF line endings yields exactly the calls of the same body with LF."""
    assert parse_batch(CT, crlf(GOOGLE_STYLE)) == parse_batch(CT, GOOGLE_STYLE)


def test_body_without_content_length_runs_to_the_boundary() -> None:
    """Without Content-Length the inner body is everything up to the next delimiter."""
    body = (
        b"preamble is ignored\r\n--b0\r\nContent-Type: application/http\r\n\r\n"
        b'PATCH /v1/people/c1:updateContact\r\n\r\n{"etag": "e"}\r\n--b0--\r\nepilogue'
    )
    (call,) = parse_batch(CT, body)
    assert call.method == "PATCH"
    assert call.body == b'{"etag": "e"}'
    assert call.content_id is None
    assert call.headers == ()


def test_absolute_url_on_the_request_line_is_reduced_to_path_and_query() -> None:
    """A client that sends a whole URL still reaches the path it named."""
    body = (
        b"--b0\nContent-Type: application/http\n\n"
        b"GET http://localhost:1/v1/contactGroups?pageSize=5 HTTP/1.1\n\n--b0--"
    )
    (call,) = parse_batch(CT, body)
    assert call.target == "/v1/contactGroups?pageSize=5"


def test_outer_headers_apply_to_every_part_except_content_headers() -> None:
    """Authorization on the outer request reaches each call; Content-* and Host do not."""
    outer = [
        ("authorization", "Bearer user:bob@example.com"),
        ("content-type", CT),
        ("content-length", "999"),
        ("host", "example"),
        ("x-goog-api-client", "gl-python"),
    ]
    first, second = parse_batch(CT, GOOGLE_STYLE, outer)
    names = [name.lower() for name, _ in second.headers]
    assert ("authorization", "Bearer user:bob@example.com") in second.headers
    assert ("x-goog-api-client", "gl-python") in second.headers
    assert names.count("content-type") == 1
    assert "content-length" in names  # the part's own
    # the part's own Authorization wins over the outer one
    auth = [value for name, value in first.headers if name.lower() == "authorization"]
    assert auth == ["Bearer user:alice@example.com"]


def test_merge_headers_is_case_insensitive() -> None:
    """An inner header overrides an outer one whatever the case of either name."""
    merged = merge_headers([("Authorization", "outer"), ("Accept", "a")], [("AUTHORIZATION", "in")])
    assert merged == (("Accept", "a"), ("AUTHORIZATION", "in"))


def test_folded_header_lines_are_joined() -> None:
    """A continuation line (leading blank) belongs to the header above it."""
    body = (
        b"--b0\nContent-Type: application/http\nContent-ID: <a\n + 1>\n\n"
        b"GET /v1/contactGroups HTTP/1.1\n\n--b0--\n"
    )
    (call,) = parse_batch(CT, body)
    assert call.content_id == "<a + 1>"


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ('multipart/mixed; boundary="===============123=="', "===============123=="),
        ("Multipart/Mixed;boundary=abc", "abc"),
        ("multipart/mixed; charset=utf-8; boundary=x y", "x y"),
    ],
)
def test_boundary_is_taken_from_the_content_type(content_type: str, boundary: str) -> None:
    """Quoted or bare, anywhere among the parameters, case-insensitive media type."""
    assert boundary_from_content_type(content_type) == boundary


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("", "must have Content-Type multipart/mixed"),
        ("application/json", "must have Content-Type multipart/mixed"),
        ("multipart/mixed", "has no boundary"),
        ('multipart/mixed; boundary=""', "1 to 70 ASCII"),
        ("multipart/mixed; boundary=" + "x" * 71, "1 to 70 ASCII"),
    ],
)
def test_bad_content_types_are_format_errors(content_type: str, message: str) -> None:
    """Only multipart/mixed with a sane boundary is a batch."""
    with pytest.raises(BatchFormatError, match=message):
        boundary_from_content_type(content_type)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "contains no calls"),
        (b"--b0--\n", "contains no calls"),
        (b"no delimiter at all", "contains no calls"),
        (b"--b0\nContent-Type: application/http\n\nGET /v1/x\n", "without a closing boundary"),
        (b"--b0\n\nGET /v1/x\n--b0--", "must be application/http"),
        (b"--b0\nContent-Type: text/plain\n\nGET /v1/x\n--b0--", "must be application/http"),
        (b"--b0\nno colon here\n\nGET /v1/x\n--b0--", "Malformed header line in batch part 1"),
        (b"--b0\nContent-Type: application/http\n\n\n--b0--", "request line"),
        (b"--b0\nContent-Type: application/http\n\nget /v1/x\n--b0--", "request line"),
        (b"--b0\nContent-Type: application/http\n\nGET /v1/x HTTP/one\n--b0--", "HTTP version"),
        (b"--b0\nContent-Type: application/http\n\nGET v1/x\n--b0--", "starting with '/'"),
        (
            b"--b0\nContent-Type: application/http\n\nPOST /v1/x\nContent-Length: 9\n\n{}\n--b0--",
            "shorter than its Content-Length",
        ),
        (
            b"--b0\nContent-Type: application/http\n\nPOST /v1/x\nContent-Length: -1\n\n{}\n--b0--",
            "not a number",
        ),
    ],
)
def test_garbage_is_a_format_error(body: bytes, message: str) -> None:
    """Every malformed body is rejected with a message that says what is wrong."""
    with pytest.raises(BatchFormatError, match=message):
        parse_batch(CT, body)


def _parts(n: int) -> bytes:
    part = b"--b0\nContent-Type: application/http\n\nGET /v1/contactGroups\n"
    return part * n + b"--b0--\n"


def test_the_limit_of_calls_is_accepted() -> None:
    """Exactly 1000 calls is a valid batch."""
    assert len(parse_batch(CT, _parts(MAX_MULTIPART_CALLS))) == MAX_MULTIPART_CALLS


def test_one_call_over_the_limit_is_rejected() -> None:
    """1001 calls is a format error naming the limit."""
    with pytest.raises(BatchFormatError, match="more than 1000 calls"):
        split_parts(_parts(MAX_MULTIPART_CALLS + 1), "b0")


@pytest.mark.parametrize(
    ("request_id", "response_id"),
    [
        ("<8a1f-uuid + 1>", "<response-8a1f-uuid + 1>"),
        ("item1", "<response-item1>"),
        (" <x> ", "<response-x>"),
    ],
)
def test_response_content_id_mirrors_the_request_id(request_id: str, response_id: str) -> None:
    """google-api-python-client strips <> and splits on ' + ', so the id must be kept whole."""
    assert response_content_id(request_id) == response_id


def test_encoded_response_is_multipart_with_crlf_and_ids() -> None:
    """One application/http part per response, in order, CRLF CRLF between head and body."""
    body = encode_batch_response(
        [
            ("<u + 1>", InnerResponse(200, (("Content-Type", "application/json"),), b'{"a":1}')),
            (None, InnerResponse(404, (), b"")),
        ],
        "zz",
    )
    text = body.decode()
    assert text.startswith("--zz\r\nContent-Type: application/http\r\n")
    assert "Content-ID: <response-u + 1>\r\n\r\nHTTP/1.1 200 OK\r\n" in text
    assert 'Content-Type: application/json\r\n\r\n{"a":1}\r\n--zz\r\n' in text
    assert "HTTP/1.1 404 Not Found\r\n\r\n\r\n--zz--\r\n" in text
    assert text.endswith("--zz--\r\n")


def test_encoded_response_reads_back_with_the_standard_mime_parser() -> None:
    """What the encoder writes, Python's email parser (which Google's client uses) reads back."""
    responses = [
        (f"<id + {i}>", InnerResponse(200 + i, (("Content-Type", "application/json"),), b"{}"))
        for i in range(3)
    ]
    body = encode_batch_response(responses, "bnd")
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: multipart/mixed; boundary=bnd\r\n\r\n" + body
    )
    parts = message.get_payload()
    assert isinstance(parts, list)
    assert [part["Content-ID"] for part in parts] == [f"<response-id + {i}>" for i in range(3)]
    for i, part in enumerate(parts):
        payload = part.get_payload()
        assert payload.startswith(f"HTTP/1.1 {200 + i} ")
        assert payload.split("\r\n\r\n", 1)[1] == "{}"


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)


@st.composite
def batches(draw: st.DrawFn) -> tuple[bytes, list[InnerRequest]]:
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    calls = []
    raw = b"preamble" + newline
    for index in range(draw(st.integers(1, 5))):
        method = draw(st.sampled_from(["GET", "POST", "PATCH", "DELETE"]))
        target = "/v1/" + draw(_token) + ("?q=" + draw(_token) if draw(st.booleans()) else "")
        body = draw(st.binary(max_size=40)) if method != "GET" else b""
        headers: tuple[tuple[str, str], ...] = (("X-Part", str(index)),)
        if body:
            headers += (("Content-Length", str(len(body))),)
        content_id = f"<{draw(_token)} + {index}>" if draw(st.booleans()) else None
        calls.append(InnerRequest(method, target, headers, body, content_id))
        lines = [b"--b0", b"Content-Type: application/http"]
        if content_id:
            lines.append(f"Content-ID: {content_id}".encode())
        lines += [b"", f"{method} {target} HTTP/1.1".encode()]
        lines += [f"{k}: {v}".encode() for k, v in headers]
        raw += newline.join([*lines, b""]) + newline + body + newline
    raw += b"--b0--" + newline
    return raw, calls


@settings(max_examples=60, deadline=None)
@given(batches())
@example(  # an LF-delimited body that ends in CR: only Content-Length tells it apart
    (
        b"--b0\nContent-Type: application/http\n\n"
        b"POST /v1/0 HTTP/1.1\nContent-Length: 1\n\n\r\n--b0--\n",
        [InnerRequest("POST", "/v1/0", (("Content-Length", "1"),), b"\r", None)],
    )
)
def test_parsing_round_trips_what_a_client_writes(case: tuple[bytes, list[InnerRequest]]) -> None:
    """Whatever calls a client encodes, with either line ending, come back unchanged."""
    raw, calls = case
    assert parse_batch(CT, raw) == calls


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([GOOGLE_STYLE, crlf(GOOGLE_STYLE), b""]))
def test_arbitrary_bytes_are_parsed_or_rejected_never_crash(noise: bytes, base: bytes) -> None:
    """Random bytes spliced into a batch either parse or raise BatchFormatError, nothing else."""
    cut = len(noise) % (len(base) + 1)
    with contextlib.suppress(BatchFormatError):
        parse_batch(CT, base[:cut] + noise + base[cut:])
