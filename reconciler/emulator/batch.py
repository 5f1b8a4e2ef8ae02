"""The multipart/mixed ``POST /batch`` endpoint of the emulator.

Google's HTTP batch packs up to 1000 API calls into one POST: each part of a multipart/mixed
body is a whole HTTP request (``application/http``, path-only request line), and the answer is
a multipart/mixed body holding one whole HTTP response per call, in order, each tagged
``Content-ID: <response-ID>`` after the request's id. google-api-python-client pairs responses
with callbacks by that id, sends LF line endings and needs CRLF CRLF between a response part's
headers and body, so the parser here is lenient about line endings and the encoder strict.

Parsing and encoding are pure functions; the endpoint only runs each parsed call through the
whole app again, so routing, auth, quotas and statistics see every inner call as a request of
its own, exactly as Google counts them. Garbage in is a 400 with a Google-style body, never a
500 or a hang.
"""

from __future__ import annotations

import asyncio
import http
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from reconciler.emulator import errors
from reconciler.model.limits import MAX_MULTIPART_CALLS

"""Most calls one batch may carry (Google's documented limit)."""

Headers = tuple[tuple[str, str], ...]

# Outer headers never copied into the inner calls: they describe the outer body or connection.
_OUTER_ONLY = frozenset({"host", "content-length", "transfer-encoding", "connection", "expect"})
_METHOD = re.compile(r"[A-Z]{1,20}")
_VERSION = re.compile(r"HTTP/\d\.\d")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")


class BatchFormatError(ValueError):
    """The batch body cannot be understood; the message is what the client is told."""


@dataclass(frozen=True, slots=True)
class InnerRequest:
    """One call of a batch, with the outer request's headers already merged in."""

    method: str
    target: str
    """Path and query, as on a request line: ``/v1/people/c1?personFields=names``."""
    headers: Headers
    body: bytes = b""
    content_id: str | None = None

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


@dataclass(frozen=True, slots=True)
class InnerResponse:
    """The HTTP response to one call of a batch."""

    status: int
    headers: Headers
    body: bytes = b""


def boundary_from_content_type(content_type: str) -> str:
    """The boundary of a ``multipart/mixed`` Content-Type; anything else is a format error."""
    media_type, *params = content_type.split(";")
    if media_type.strip().lower() != "multipart/mixed":
        raise BatchFormatError(
            f"A batch request must have Content-Type multipart/mixed, not {media_type.strip()!r}."
        )
    for param in params:
        name, sep, value = param.partition("=")
        if sep and name.strip().lower() == "boundary":
            boundary = value.strip()
            if len(boundary) >= 2 and boundary[0] == boundary[-1] == '"':
                boundary = boundary[1:-1]
            if not 1 <= len(boundary) <= 70 or not boundary.isascii():
                raise BatchFormatError(
                    "The multipart boundary must be 1 to 70 ASCII characters long."
                )
            return boundary
    raise BatchFormatError("The multipart/mixed Content-Type of a batch request has no boundary.")


def split_parts(body: bytes, boundary: str) -> list[bytes]:
    """The parts of a multipart body, between its delimiter lines (preamble and epilogue dropped).

    A delimiter is a line ``--boundary`` (closing: ``--boundary--``), optionally followed by
    blanks, ended by CRLF or LF. The LF before it belongs to the delimiter; a CR before that
    LF is left on the part, since only the part's Content-Length can tell a CRLF delimiter
    from a body that ends in CR (see :func:`parse_part`).
    """
    delimiter = re.compile(
        rb"(?:\A|\n)--" + re.escape(boundary.encode("ascii")) + rb"(--)?[ \t]*(?:\r?\n|\Z)"
    )
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : match.start()])
            if len(parts) > MAX_MULTIPART_CALLS:
                raise BatchFormatError(
                    f"A batch request cannot contain more than {MAX_MULTIPART_CALLS} calls."
                )
        if match.group(1):
            if start is None and not parts:
                break
            return parts
        start = match.end()
    if start is None and not parts:
        raise BatchFormatError("The batch request contains no calls.")
    raise BatchFormatError(
        "The multipart body of the batch request ends without a closing boundary."
    )


def _split_head(block: bytes) -> tuple[bytes, bytes]:
    """Split a header block from what follows the blank line after it."""
    if block.startswith((b"\n", b"\r\n")):
        return b"", block[1 if block.startswith(b"\n") else 2 :]
    match = _HEAD_END.search(block)
    if match is None:
        return block, b""
    return block[: match.start()], block[match.end() :]


def parse_header_lines(head: bytes, *, what: str) -> list[tuple[str, str]]:
    """``Name: value`` lines, folded lines joined; a line without a colon is an error."""
    headers: list[tuple[str, str]] = []
    if not head:
        return headers
    for raw in _LINE_END.split(head):
        line = raw.decode("latin-1")
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BatchFormatError(f"Malformed header line in {what}: {line[:80]!r}.")
        headers.append((name, value.strip()))
    return headers


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def _request_target(raw: str, what: str) -> str:
    """A path-only target; an absolute URL is reduced to its path and query."""
    if raw.startswith(("http://", "https://")):
        url = urlsplit(raw)
        raw = (url.path or "/") + (f"?{url.query}" if url.query else "")
    if not raw.startswith("/"):
        raise BatchFormatError(f"The request line of {what} must hold a path starting with '/'.")
    return raw


def parse_part(part: bytes, index: int) -> InnerRequest:
    """One ``application/http`` part: its MIME headers, then a whole HTTP request."""
    what = f"batch part {index + 1}"
    mime_head, message = _split_head(part)
    mime_headers = parse_header_lines(mime_head, what=what)
    content_type = (_header(mime_headers, "content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/http":
        raise BatchFormatError(f"The Content-Type of {what} must be application/http.")
    content_id = _header(mime_headers, "content-id")

    message = message.lstrip(b"\r\n")
    request_line, _, rest = message.partition(b"\n")
    fields = request_line.decode("latin-1").split()
    if len(fields) not in (2, 3) or not _METHOD.fullmatch(fields[0]):
        raise BatchFormatError(f"{what} does not start with a request line such as 'GET /path'.")
    if len(fields) == 3 and not _VERSION.fullmatch(fields[2]):
        raise BatchFormatError(f"The request line of {what} has a bad HTTP version.")
    target = _request_target(fields[1], what)
    head, body = _split_head(rest)
    headers = parse_header_lines(head, what=what)

    length = _header(headers, "content-length")
    if length is not None:
        if not length.isdigit():
            raise BatchFormatError(f"The Content-Length of {what} is not a number.")
        if int(length) > len(body):
            raise BatchFormatError(f"The body of {what} is shorter than its Content-Length.")
        body = body[: int(length)]
    elif body.endswith(b"\r"):
        body = body[:-1]  # the CR of a CRLF delimiter
    return InnerRequest(fields[0], target, tuple(headers), body, content_id)


def merge_headers(outer: Iterable[tuple[str, str]], inner: Iterable[tuple[str, str]]) -> Headers:
    """The inner call's headers plus the outer request's (except Content-*), inner ones winning."""
    inner = list(inner)
    own = {name.lower() for name, _ in inner}
    inherited = [
        (name, value)
        for name, value in outer
        if name.lower() not in own
        and name.lower() not in _OUTER_ONLY
        and not name.lower().startswith("content-")
    ]
    return (*inherited, *inner)


def parse_batch(
    content_type: str, body: bytes, outer_headers: Iterable[tuple[str, str]] = ()
) -> list[InnerRequest]:
    """Every call of a batch request, in order, each carrying the outer headers that apply."""
    parts = split_parts(body, boundary_from_content_type(content_type))
    outer = list(outer_headers)
    calls = []
    for index, part in enumerate(parts):
        call = parse_part(part, index)
        calls.append(
            InnerRequest(
                call.method,
                call.target,
                merge_headers(outer, call.headers),
                call.body,
                call.content_id,
            )
        )
    return calls


def response_content_id(request_id: str) -> str:
    """``<UUID + 1>`` -> ``<response-UUID + 1>``, the id a client matches its callback by."""
    bare = request_id.strip()
    if len(bare) >= 2 and bare[0] == "<" and bare[-1] == ">":
        bare = bare[1:-1]
    return f"<response-{bare}>"


def new_boundary() -> str:
    return f"batch_{secrets.token_hex(16)}"


def encode_batch_response(
    items: Iterable[tuple[str | None, InnerResponse]], boundary: str
) -> bytes:
    """A multipart/mixed body, one ``application/http`` part per response, CRLF throughout."""
    delimiter = f"--{boundary}\r\n".encode("ascii")
    out = bytearray()
    for content_id, response in items:
        out += delimiter
        out += b"Content-Type: application/http\r\n"
        if content_id is not None:
            out += f"Content-ID: {response_content_id(content_id)}\r\n".encode("latin-1")
        out += b"\r\n"
        out += f"HTTP/1.1 {response.status} {_reason(response.status)}\r\n".encode("ascii")
        for name, value in response.headers:
            out += f"{name}: {value}\r\n".encode("latin-1")
        out += b"\r\n"
        out += response.body
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode("ascii")
    return bytes(out)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_response(message: str) -> InnerResponse:
    """A Google-style 400 INVALID_ARGUMENT for a batch (or a part) the server cannot take apart."""
    body = json.dumps(errors.bad_request(message).body()).encode()
    return InnerResponse(400, (("Content-Type", "application/json; charset=UTF-8"),), body)


def as_starlette(response: InnerResponse) -> Response:
    return Response(response.body, response.status, headers=dict(response.headers))


async def batch_endpoint(request: Request) -> Response:
    """``POST /batch``: run every call of a multipart/mixed batch and answer them in order.

    Each call goes through the whole app again, so it is authenticated, throttled and counted
    on its own; the batch itself is not an API call. Calls run concurrently, as Google's do
    ("the server might perform your calls in any order"), so with the latency knob on a batch
    costs about one latency rather than one per call. Handlers do not yield, so without
    latency the calls still run in the order sent.
    """
    body = await request.body()
    try:
        calls = parse_batch(request.headers.get("content-type", ""), body, request.headers.items())
    except BatchFormatError as exc:
        return as_starlette(error_response(str(exc)))
    emulator = request.app.state.emulator

    async def run(call: InnerRequest) -> InnerResponse:
        if call.path.rstrip("/") == "/batch":
            return error_response("A batch request cannot contain another batch request.")
        status, headers, payload = await emulator.dispatch(
            call.method, call.target, list(call.headers), call.body
        )
        return InnerResponse(status, tuple(headers), payload)

    answers = await asyncio.gather(*(run(call) for call in calls))
    ids = [call.content_id for call in calls]
    boundary = new_boundary()
    return Response(
        encode_batch_response(zip(ids, answers, strict=True), boundary),
        media_type=f"multipart/mixed; boundary={boundary}",
    )
