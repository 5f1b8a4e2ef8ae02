"""How fast the emulator answers: requests per second for get, update and batchUpdate.

The emulator must never be what limits the client's, the apply engine's or the controller's
benchmarks, so this measures its three hottest methods against an address book of ``--people``
contacts three ways: the app alone (``Emulator.dispatch``, no HTTP client at all), in process
(``httpx.ASGITransport``, no sockets) and over HTTP (uvicorn on 127.0.0.1, keep-alive). A
"floor" line (the admin config GET, no API work) shows what the transport alone costs. Each
measurement stops after ``--count`` requests or ``--seconds`` seconds, whichever comes first.

    python bench/emulator.py [--people 200] [--count 2000] [--seconds 3] [--profile]
    python bench/emulator.py --url http://127.0.0.1:8085   # a server in another process
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx

from reconciler.emulator import BackgroundServer, create_app

TOKEN = "Bearer user:bench@example.com"
FIELDS = "names,emailAddresses,phoneNumbers,organizations"

# (method, path, query, JSON body) -> JSON answer; raises on any status but 200.
Send = Callable[[str, str, dict[str, str], Any], Awaitable[Any]]


def person(i: int) -> dict[str, Any]:
    return {
        "names": [{"givenName": f"Given{i}", "familyName": f"Family{i}"}],
        "emailAddresses": [{"value": f"person{i}@example.com", "type": "work"}],
        "phoneNumbers": [{"value": f"+1 650 555 {i % 10000:04d}", "type": "mobile"}],
        "organizations": [{"name": "Acme", "title": "Engineer"}],
    }


async def seed(send: Send, count: int) -> dict[str, dict[str, Any]]:
    """Create ``count`` contacts with batchCreateContacts; their persons by resource name."""
    people: dict[str, dict[str, Any]] = {}
    for start in range(0, count, 200):
        contacts = [{"contactPerson": person(i)} for i in range(start, min(count, start + 200))]
        answer = await send(
            "POST", "/v1/people:batchCreateContacts", {}, {"contacts": contacts, "readMask": FIELDS}
        )
        for created in answer["createdPeople"]:
            people[created["person"]["resourceName"]] = created["person"]
    return people


async def measure(
    label: str, op: Callable[[int], Awaitable[int]], count: int, seconds: float
) -> None:
    """Run ``op`` up to ``count`` times or ``seconds``; ``op`` returns how many people it did."""
    done = items = 0
    start = time.perf_counter()
    deadline = start + seconds
    while done < count and time.perf_counter() < deadline:
        items += await op(done)
        done += 1
    elapsed = time.perf_counter() - start
    print(
        f"  {label:<34} {done / elapsed:9.0f} req/s {items / elapsed:10.0f} people/s"
        f"  ({done} requests in {elapsed:.2f} s)",
        flush=True,
    )


async def run_suite(send: Send, n_people: int, count: int, seconds: float) -> None:
    people = await seed(send, n_people)
    names = list(people)

    async def floor(i: int) -> int:
        await send("GET", "/__emulator/config", {}, None)
        return 0

    async def get(i: int) -> int:
        await send("GET", f"/v1/{names[i % len(names)]}", {"personFields": FIELDS}, None)
        return 1

    async def update(i: int) -> int:
        name = names[i % len(names)]
        body = {"etag": people[name]["etag"], "biographies": [{"value": f"revision {i}"}]}
        query = {"updatePersonFields": "biographies", "personFields": "biographies"}
        answer = await send("PATCH", f"/v1/{name}:updateContact", query, body)
        people[name]["etag"] = answer["etag"]
        return 1

    async def batch_update(i: int) -> int:
        contacts = {
            name: {"etag": people[name]["etag"], "biographies": [{"value": f"batch {i}"}]}
            for name in names[:200]
        }
        body = {"contacts": contacts, "updateMask": "biographies", "readMask": "biographies"}
        answer = await send("POST", "/v1/people:batchUpdateContacts", {}, body)
        for name, result in answer["updateResult"].items():
            people[name]["etag"] = result["person"]["etag"]
        return len(contacts)

    await measure("floor: GET /__emulator/config", floor, count, seconds)
    await measure("people.get", get, count, seconds)
    await measure("people.updateContact", update, count, seconds)
    batch_label = f"people.batchUpdateContacts ({min(200, n_people)})"
    await measure(batch_label, batch_update, max(1, count // 20), seconds)


@asynccontextmanager
async def app_alone() -> AsyncIterator[Send]:
    """Straight into ``Emulator.dispatch``: routing, auth, knobs and handlers, no HTTP client."""
    emulator = create_app().state.emulator
    headers = [("authorization", TOKEN), ("content-type", "application/json")]

    async def send(method: str, path: str, query: dict[str, str], body: Any) -> Any:
        target = f"{path}?{urlencode(query)}" if query else path
        payload = json.dumps(body).encode() if body is not None else b""
        status, _, answer = await emulator.dispatch(method, target, headers, payload)
        if status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {status}")
        return json.loads(answer)

    yield send


def httpx_sender(client: httpx.AsyncClient) -> Send:
    async def send(method: str, path: str, query: dict[str, str], body: Any) -> Any:
        response = await client.request(method, path, params=query, json=body)
        response.raise_for_status()
        return response.json()

    return send


@asynccontextmanager
async def in_process() -> AsyncIterator[Send]:
    transport = httpx.ASGITransport(app=create_app())
    headers = {"authorization": TOKEN}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=headers
    ) as client:
        yield httpx_sender(client)


@asynccontextmanager
async def over_http(url: str | None = None) -> AsyncIterator[Send]:
    """One keep-alive connection to ``url``, or to uvicorn in a background thread of this
    process (which then shares the GIL with the client)."""
    headers = {"authorization": TOKEN}
    if url is not None:
        async with httpx.AsyncClient(base_url=url, headers=headers) as client:
            await client.post("/__emulator/reset")
            yield httpx_sender(client)
        return
    with BackgroundServer(create_app()) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as client:
            yield httpx_sender(client)


async def main(args: argparse.Namespace) -> None:
    print(f"emulator, {args.people} people, at most {args.count} requests or {args.seconds} s each")
    modes = [
        ("app alone (Emulator.dispatch, no HTTP client):", app_alone),
        ("in process (httpx.ASGITransport):", in_process),
    ]
    if args.url:
        modes.append((f"over HTTP ({args.url}, keep-alive):", lambda: over_http(args.url)))
    elif not args.in_process_only:
        modes.append(("over HTTP (uvicorn thread, 127.0.0.1, keep-alive):", over_http))
    for title, mode in modes:
        print(title)
        async with mode() as send:
            await run_suite(send, args.people, args.count, args.seconds)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200, help="contacts in the address book")
    parser.add_argument("--count", type=int, default=2000, help="most requests per measurement")
    parser.add_argument("--seconds", type=float, default=3.0, help="most time per measurement")
    parser.add_argument("--in-process-only", action="store_true", help="skip the HTTP runs")
    parser.add_argument(
        "--url", help="measure a running `reconciler emulator` at URL (it is reset first)"
    )
    parser.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    args = parser.parse_args()
    if not args.profile:
        asyncio.run(main(args))
        return
    profiler = cProfile.Profile()
    profiler.runcall(asyncio.run, main(args))
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    cli()
