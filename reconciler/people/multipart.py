"""The client side of the HTTP ``/batch`` wire format (multipart/mixed of embedded HTTP calls).

Used for the calls that have no batch form of their own (single updates, group deletes, ...).
The server may run the parts in any order and may answer them in any order, so responses are
matched to requests by Content-ID only (``<id>`` is answered as ``<response-id>``), never by
position. Each part has its own status: one failed part is one failed call, not a failed batch.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from reconciler.model.limits import MAX_MULTIPART_CALLS

__all__ = [
    "BatchCodecError",
    "InnerRequest",
    "InnerResponse",
    "decode_responses",
    "encode_requests",
    "response_key",
]

_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class BatchCodecError(ValueError):
    """A /batch response that cannot be parsed or does not answer every request."""


@dataclass(frozen=True)
class InnerRequest:
    """One call in a batch: ``path`` is path-only (``/v1/people/c1:updateContact``)."""

    method: str
    path: str
    params: Sequence[tuple[str, str]] = ()
    body: Mapping[str, Any] | None = None
    content_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def target(self) -> str:
        return f"{self.path}?{urlencode(list(self.params))}" if self.params else self.path

    def api_method(self) -> str:
        """The People API method this call is, by its reference page's name (the key of its
        quota cost in :data:`reconciler.model.quotas.COSTS`)."""
        verb, path = self.method.upper(), self.path.removeprefix("/v1/")
        if ":" in path:  # a custom verb: people:batchGet, people/c1:updateContact, ...
            resource, action = path.rsplit(":", 1)
            if resource.startswith("contactGroups"):
                return (
                    "contactGroups.members.modify"
                    if action == "modify"
                    else "contactGroups.batchGet"
                )
            return "people.getBatchGet" if action == "batchGet" else f"people.{action}"
        if path.startswith("contactGroups"):
            if "/" not in path:
                return "contactGroups.list" if verb == "GET" else "contactGroups.create"
            return {"GET": "contactGroups.get", "PUT": "contactGroups.update"}.get(
                verb, "contactGroups.delete"
            )
        return "people.connections.list" if path.endswith("/connections") else "people.get"


@dataclass(frozen=True)
class InnerResponse:
    """One answered call: status, headers (lower-cased names) and the raw body."""

    content_id: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else {}


def response_key(content_id: str) -> str:
    """``<response-abc + 1>`` and ``<abc + 1>`` both map to ``abc + 1``."""
    key = content_id.strip().removeprefix("<").removesuffix(">").strip()
    return key.removeprefix("response-")


def encode_requests(
    requests: Sequence[InnerRequest], *, boundary: str | None = None
) -> tuple[str, bytes]:
    """Return the outer Content-Type header and the multipart body for ``requests``."""
    if not requests:
        raise ValueError("a batch needs at least one call")
    if len(requests) > MAX_MULTIPART_CALLS:
        raise ValueError(f"a batch holds at most {MAX_MULTIPART_CALLS} calls: {len(requests)}")
    ids = [request.content_id for request in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("Content-IDs in one batch must be unique")
    boundary = boundary or f"batch_{uuid.uuid4().hex}"
    chunks: list[bytes] = []
    for request in requests:
        lines = [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: <{request.content_id}>",
            "",
            f"{request.method.upper()} {request.target()} HTTP/1.1",
        ]
        payload = b""
        if request.body is not None:
            payload = json.dumps(request.body, separators=(",", ":")).encode()
            lines.append("Content-Type: application/json")
            lines.append(f"Content-Length: {len(payload)}")
        lines += ["", ""]
        chunks.append("\r\n".join(lines).encode() + payload + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)


def _split_head(block: bytes) -> tuple[list[str], bytes]:
    """Split ``headers CRLF CRLF body`` (LF-only tolerated) into header lines and body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, rest = block.partition(separator)
        if found:
            return head.decode("latin-1").replace("\r\n", "\n").split("\n"), rest
    return block.decode("latin-1").replace("\r\n", "\n").split("\n"), b""


def _headers(lines: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def _parse_part(part: bytes) -> InnerResponse:
    outer_lines, inner = _split_head(part.lstrip(b"\r\n"))
    outer = _headers(outer_lines)
    content_id = outer.get("content-id")
    if content_id is None:
        raise BatchCodecError("a /batch response part has no Content-ID")
    inner_lines, body = _split_head(inner.lstrip(b"\r\n"))
    status_line = inner_lines[0] if inner_lines else ""
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[1].isdigit():
        raise BatchCodecError(f"a /batch response part has no status line: {status_line[:40]!r}")
    if body.endswith(b"\r\n"):
        body = body[:-2]
    elif body.endswith(b"\n"):
        body = body[:-1]
    return InnerResponse(
        content_id=response_key(content_id),
        status=int(fields[1]),
        headers=_headers(inner_lines[1:]),
        body=body,
    )


def decode_responses(
    content_type: str, body: bytes, expected: Sequence[str] | None = None
) -> dict[str, InnerResponse]:
    """Parse a multipart/mixed answer into ``{request content id: response}``.

    With ``expected`` (the request ids), a missing or unknown part is a :class:`BatchCodecError`.
    """
    match = _BOUNDARY_RE.search(content_type)
    if not content_type.lower().startswith("multipart/") or match is None:
        raise BatchCodecError(f"not a multipart/mixed response: {content_type[:60]!r}")
    delimiter = b"--" + match.group(1).encode()
    responses: dict[str, InnerResponse] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        response = _parse_part(part)
        responses[response.content_id] = response
    if expected is not None:
        missing = set(expected) - set(responses)
        unknown = set(responses) - set(expected)
        if missing or unknown:
            raise BatchCodecError(
                f"/batch answered {len(responses)} parts for {len(expected)} calls "
                f"({len(missing)} missing, {len(unknown)} unknown)"
            )
    return responses
