"""``POST /batch`` in process: every inner call is a full API call, answered in order."""

from __future__ import annotations

import asyncio
import email.parser
import json
from typing import Any

import httpx
import pytest

from reconciler.emulator import Emulator

CT = "multipart/mixed; boundary=xyz"


def part(request: str, content_id: str | None = None, body: str = "") -> str:
    head = "Content-Type: application/http\n"
    if content_id is not None:
        head += f"Content-ID: {content_id}\n"
    return f"--xyz\n{head}\n{request}\n\n{body}\n"


def batch(*parts: str) -> str:
    return "".join(parts) + "--xyz--\n"


def responses(response: httpx.Response) -> list[tuple[str | None, int, Any]]:
    """(Content-ID, status, JSON body) of each part, read with the standard MIME parser."""
    assert response.status_code == 200, response.text
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/mixed; boundary=")
    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + response.content
    )
    result = []
    for item in message.get_payload():
        assert item.get_content_type() == "application/http"
        payload = item.get_payload()
        status_line, rest = payload.split("\r\n", 1)
        _, body = rest.split("\r\n\r\n", 1)
        result.append((item["Content-ID"], int(status_line.split()[1]), json.loads(body)))
    return result


async def create(api: httpx.AsyncClient, given: str) -> dict[str, Any]:
    response = await api.post("/v1/people:createContact", json={"names": [{"givenName": given}]})
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


async def test_calls_are_answered_in_order_with_mirrored_ids(api: httpx.AsyncClient) -> None:
    """One part per call, in request order; ids come back as <response-ID>, absent stays absent."""
    ada = await create(api, "Ada")
    body = batch(
        part(f"GET /v1/{ada['resourceName']}?personFields=names HTTP/1.1", "<u + 1>"),
        part("GET /v1/people/c404?personFields=names HTTP/1.1", "<u + 2>"),
        part("GET /v1/contactGroups/myContacts HTTP/1.1"),
        part(
            "POST /v1/people:createContact HTTP/1.1\nContent-Type: application/json",
            "item-4",
            '{"names": [{"givenName": "Linus"}]}',
        ),
    )
    answered = responses(await api.post("/batch", content=body, headers={"content-type": CT}))
    assert [(cid, status) for cid, status, _ in answered] == [
        ("<response-u + 1>", 200),
        ("<response-u + 2>", 404),
        (None, 200),
        ("<response-item-4>", 200),
    ]
    assert answered[0][2]["names"][0]["givenName"] == "Ada"
    assert answered[1][2]["error"]["message"] == "Requested entity was not found."
    assert answered[2][2]["resourceName"] == "contactGroups/myContacts"
    assert answered[3][2]["resourceName"].startswith("people/c")


async def test_inner_calls_are_counted_one_by_one(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """Statistics count each inner call under its own method id; the batch itself is no call."""
    emulator.stats.clear()
    body = batch(*[part("GET /v1/contactGroups HTTP/1.1") for _ in range(3)])
    await api.post("/batch", content=body, headers={"content-type": CT})
    snapshot = emulator.stats.snapshot()
    assert snapshot["total"] == 3
    assert set(snapshot["by_method"]) == {"people.contactGroups.list"}


async def test_outer_authorization_applies_to_parts_without_their_own(
    api: httpx.AsyncClient,
) -> None:
    """A part inherits the outer bearer token unless it carries its own, which then wins."""
    bob = "Authorization: Bearer user:bob@example.com"
    body = batch(
        part(
            f"POST /v1/people:createContact HTTP/1.1\n{bob}\nContent-Type: application/json",
            "1",
            '{"names": [{"givenName": "Bob"}]}',
        ),
        part("GET /v1/people/me/connections?personFields=names HTTP/1.1", "2"),
        part(f"GET /v1/people/me/connections?personFields=names HTTP/1.1\n{bob}", "3"),
    )
    answered = responses(await api.post("/batch", content=body, headers={"content-type": CT}))
    assert [status for _, status, _ in answered] == [200, 200, 200]
    assert "connections" not in answered[1][2]  # alice's book is empty
    assert [p["names"][0]["givenName"] for p in answered[2][2]["connections"]] == ["Bob"]


async def test_a_part_without_any_token_gets_its_own_401(app: Any) -> None:
    """Without an outer token, a part that has none is unauthenticated; the batch is not."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator"
    ) as anonymous:
        body = batch(
            part("GET /v1/contactGroups HTTP/1.1\nAuthorization: Bearer user:a@example.com"),
            part("GET /v1/contactGroups HTTP/1.1"),
        )
        response = await anonymous.post("/batch", content=body, headers={"content-type": CT})
    assert [status for _, status, _ in responses(response)] == [200, 401]


async def test_each_inner_call_spends_quota(api: httpx.AsyncClient, emulator: Emulator) -> None:
    """With a write quota of 2 per minute, the third inner write of one batch is a 429."""
    emulator.configure({"write_quota_per_minute": 2})
    create_part = part(
        "POST /v1/people:createContact HTTP/1.1\nContent-Type: application/json",
        body='{"names": [{"givenName": "Q"}]}',
    )
    body = batch(create_part, create_part, create_part)
    answered = responses(await api.post("/batch", content=body, headers={"content-type": CT}))
    assert [status for _, status, _ in answered] == [200, 200, 429]
    assert answered[2][2]["error"]["status"] == "RESOURCE_EXHAUSTED"


async def test_calls_of_one_batch_wait_out_their_latency_together(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """With the latency knob on, all calls of a batch are in flight at once (as at Google), so
    a batch costs about one latency, not one per call; answers still come back in order."""
    in_flight = peak = 0

    async def sleep(seconds: float) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight -= 1

    emulator.faults.sleep = sleep
    emulator.configure({"latency_ms": 250})
    body = batch(*[part(f"GET /v1/contactGroups/g{i} HTTP/1.1", f"<c + {i}>") for i in range(4)])
    answered = responses(await api.post("/batch", content=body, headers={"content-type": CT}))
    assert peak == 4
    assert [cid for cid, _, _ in answered] == [f"<response-c + {i}>" for i in range(4)]


async def test_bad_inner_requests_fail_alone(api: httpx.AsyncClient) -> None:
    """Malformed JSON, a missing parameter and a nested batch fail in their part only."""
    body = batch(
        part(
            "POST /v1/people:createContact HTTP/1.1\nContent-Type: application/json",
            body="{not json",
        ),
        part("GET /v1/people/c1 HTTP/1.1"),
        part("POST /batch HTTP/1.1\nContent-Type: multipart/mixed; boundary=z", body="--z--"),
        part("GET /v1/contactGroups HTTP/1.1"),
    )
    answered = responses(await api.post("/batch", content=body, headers={"content-type": CT}))
    assert [status for _, status, _ in answered] == [400, 400, 400, 200]
    assert all(error["error"]["status"] == "INVALID_ARGUMENT" for _, _, error in answered[:3])
    assert "another batch" in answered[2][2]["error"]["message"]


async def test_crlf_batches_work_like_lf_batches(api: httpx.AsyncClient) -> None:
    """A client that sends CRLF line endings is understood as well."""
    body = batch(part("GET /v1/contactGroups HTTP/1.1", "<a + 1>")).replace("\n", "\r\n")
    answered = responses(await api.post("/batch", content=body, headers={"content-type": CT}))
    assert [(cid, status) for cid, status, _ in answered] == [("<response-a + 1>", 200)]


async def test_a_thousand_calls_are_accepted(api: httpx.AsyncClient) -> None:
    """1000 calls, Google's limit, all get an answer."""
    body = batch(
        *[part("GET /v1/contactGroups/myContacts HTTP/1.1", f"<b + {i}>") for i in range(1000)]
    )
    answered = responses(await api.post("/batch", content=body, headers={"content-type": CT}))
    assert len(answered) == 1000
    assert answered[-1][0] == "<response-b + 999>"


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (CT, batch(*[part("GET /v1/contactGroups HTTP/1.1")] * 1001), "more than 1000 calls"),
        ("application/json", "{}", "multipart/mixed"),
        ("multipart/mixed", "--xyz--", "no boundary"),
        (CT, "", "no calls"),
        (CT, "--xyz\nContent-Type: application/http\n\nGET /v1/contactGroups\n", "closing"),
        (CT, "--xyz\nContent-Type: text/plain\n\nhello\n--xyz--", "application/http"),
        (CT, "--xyz\nContent-Type: application/http\n\n\x00\xff garbage\n--xyz--", "request line"),
    ],
    ids=["over-limit", "not-multipart", "no-boundary", "empty", "unclosed", "not-http", "binary"],
)
async def test_garbage_is_a_google_style_400(
    api: httpx.AsyncClient, content_type: str, body: str, message: str
) -> None:
    """Anything that is not a well-formed batch is one 400 INVALID_ARGUMENT for the whole batch."""
    response = await api.post(
        "/batch", content=body.encode(), headers={"content-type": content_type}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert message in error["message"]
    assert error["errors"][0]["reason"] == "badRequest"


async def test_other_methods_on_batch_are_rejected_cleanly(api: httpx.AsyncClient) -> None:
    """GET /batch is a Google-style client error, not a 500."""
    response = await api.get("/batch")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
