"""One request to the People API: paced, retried, classified and counted.

Every HTTP call the client makes goes through :meth:`Transport.call` (JSON methods) or
:meth:`Transport.send_batch` (one multipart ``/batch`` round trip), so pacing, retries, the
one-mutation-per-account rule, error classification and statistics live in one place. httpx
exceptions are translated here, once, into :mod:`reconciler.people.errors`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from reconciler.clock import Clock, SystemClock
from reconciler.model.limits import MAX_MULTIPART_CALLS, MAX_PAGE_SIZE
from reconciler.model.quotas import cost_of, total_cost
from reconciler.people.decoding import decode_json
from reconciler.people.errors import (
    PeopleError,
    RateLimited,
    TransportError,
    UnknownOutcome,
    classify,
)
from reconciler.people.multipart import (
    BatchCodecError,
    InnerRequest,
    InnerResponse,
    decode_responses,
    encode_requests,
)
from reconciler.people.pacing import AccountPacer, Costs, Pacer, PacingConfig, Sending
from reconciler.people.results import ClientStats
from reconciler.people.retry import Retrier, RetryPolicy

__all__ = ["ClientConfig", "Transport"]

log = structlog.get_logger("reconciler.people")

# httpx errors raised before any byte of the request left: safe to resend even a create.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_SPENT = httpx.ByteStream(b"")
"""Stands in for an answer's stream once the answer is read whole and closed. httpx binds a
response and its stream to each other (the stream closes the response), so without this every
answer, with its body and its request's body, is garbage in a reference cycle: freed only by
the garbage collector, after surviving into the generations a full collection walks. A replica
converging sends hundreds of requests a second; its listings and batch bodies are ~0.1-1 MiB
each. With the cycle broken, reference counting frees them as soon as they are decoded."""


@dataclass(frozen=True)
class ClientConfig:
    """Tunables of the client. Batch calls are sent as given (callers cut them to the limits
    in :mod:`reconciler.model.limits`); listings read ``page_size`` per page."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    pacing: PacingConfig = field(default_factory=PacingConfig)
    page_size: int = MAX_PAGE_SIZE
    batch_calls: int = MAX_MULTIPART_CALLS
    timeout: float = 60.0


class Transport:
    """Sends requests for one account over an ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account: str = "default",
        config: ClientConfig | None = None,
        clock: Clock | None = None,
        pacer: Pacer | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.account = account
        self.config = config or ClientConfig()
        self.clock: Clock = clock or SystemClock()
        self.pacer = pacer or Pacer(self.config.pacing, clock=self.clock)
        self.stats = ClientStats()
        self.log = log.bind(account=account)
        self.retrier = Retrier(
            self.config.retry,
            self.clock,
            rng or random.Random(),
            on_retry=self._count_retry,
            log=self.log,
        )

    @property
    def buckets(self) -> AccountPacer:
        return self.pacer.account(self.account)

    def _count_retry(self, error: PeopleError, wait: float) -> None:
        self.stats.retries += 1

    async def _acquire(self, costs: Costs) -> Sending:
        """Wait for the pacer's tokens; the wait is added to ``stats.paced``. The units count
        in the pacer's minutes until the returned :class:`Sending` is answered."""
        began = self.clock.now()
        sending = await self.buckets.acquire(costs)
        waited = self.clock.now() - began
        self.stats.paced += waited
        if waited >= 0.001:
            self.log.debug("people.paced", waited=round(waited, 3))
        return sending

    def _observe(self, error: PeopleError | None, costs: Costs) -> None:
        if isinstance(error, RateLimited):
            self.stats.throttled += 1
            self.buckets.throttle(
                costs,
                quota_metric=error.quota_metric,
                quota_limit=error.quota_limit,
                retry_after=error.retry_after,
            )
        elif error is None:
            self.buckets.succeeded(costs)

    async def call(
        self,
        method: str,
        verb: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        write: bool = False,
        create: bool = False,
        resource: str | None = None,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> Any:
        """One JSON API call with pacing (its quota units, model.quotas.COSTS) and retries;
        returns the decoded body. ``before_send`` is awaited before each attempt is sent, once
        the pacer has let it go: whatever it records is dated after any wait for tokens."""
        costs = cost_of(method)

        async def attempt() -> Any:
            sending = await self._acquire(costs)
            if before_send is not None:
                try:
                    await before_send()
                except BaseException:
                    sending.answered()  # never sent: its units count from now
                    raise
            return await self._once(
                method, verb, path, params=params, body=body, costs=costs, create=create,
                resource=resource, sending=sending,
            )  # fmt: skip

        if write:
            async with self.buckets.mutation:
                return await self.retrier.run(attempt, method=method, create=create)
        return await self.retrier.run(attempt, method=method, create=create)

    async def _request(
        self, method: str, verb: str, path: str, *, create: bool, sending: Sending, **kwargs: Any
    ) -> httpx.Response:
        """Send one request and read its answer, whole, with no reference cycle left to keep
        it (see ``_SPENT``); its units count in the pacer's minutes until then (``sending``),
        whatever happens."""
        try:
            response = await self.http.request(verb, path, **kwargs)
            response.stream = _SPENT
            return response
        except httpx.TransportError as error:
            self.stats.record(method, "transport")
            self.log.warning("people.transport_error", method=method, error=type(error).__name__)
            if create and not isinstance(error, NOT_SENT):
                raise UnknownOutcome(
                    f"the request was sent but its answer was lost ({type(error).__name__}); "
                    "list the address book to learn whether the contacts were created",
                    method=method,
                ) from error
            raise TransportError(
                f"request failed: {type(error).__name__}", method=method
            ) from error
        finally:
            sending.answered()

    async def _once(
        self,
        method: str,
        verb: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        costs: Costs,
        create: bool,
        resource: str | None,
        sending: Sending,
    ) -> Any:
        sent = self.clock.now()
        response = await self._request(
            method, verb, path, create=create, sending=sending, params=params, json=body
        )
        self.stats.record(method, response.status_code)
        took = round(self.clock.now() - sent, 3)
        self.log.debug("people.request", method=method, status=response.status_code, took=took)
        if response.is_success:
            self._observe(None, costs)
            return await decode_json(response.content) if response.content.strip() else {}
        error = classify(
            response.status_code,
            response.content,
            retry_after=response.headers.get("retry-after"),
            method=method,
            resource=resource,
        )
        self._observe(error, costs)
        self.log.info(
            "people.error",
            method=method,
            status=response.status_code,
            error=type(error).__name__,
            **error.log_fields(),
        )
        raise error

    async def send_batch(
        self, calls: Sequence[InnerRequest], *, create: bool
    ) -> dict[str, InnerResponse]:
        """One multipart ``/batch`` round trip (no retries here: the caller retries parts),
        paced as what its inner calls cost together."""
        costs = total_cost(call.api_method() for call in calls)
        sending = await self._acquire(costs)
        try:
            content_type, payload = encode_requests(calls)
        except BaseException:
            sending.answered()
            raise
        sent = self.clock.now()
        response = await self._request(
            "batch",
            "POST",
            "batch",
            create=create,
            sending=sending,
            content=payload,
            headers={"Content-Type": content_type},
        )
        self.stats.record("batch", response.status_code)
        took = round(self.clock.now() - sent, 3)
        self.log.debug("people.request", method="batch", status=response.status_code, took=took)
        if not response.is_success:
            error = classify(
                response.status_code,
                response.content,
                retry_after=response.headers.get("retry-after"),
                method="batch",
            )
            self._observe(error, costs)
            raise error
        try:
            parts = decode_responses(
                response.headers.get("content-type", ""),
                response.content,
                expected=[call.content_id for call in calls],
            )
        except BatchCodecError as error:
            if create:
                raise UnknownOutcome(str(error), method="batch") from error
            raise TransportError(str(error), method="batch") from error
        for part in parts.values():
            status = part.status
            self.stats.inner[str(status)] += 1
            if status == 429:
                self._observe(
                    classify(status, part.body, retry_after=part.headers.get("retry-after")),
                    costs,
                )
        if all(part.status != 429 for part in parts.values()):
            self._observe(None, costs)
        return parts


def json_body(part: InnerResponse) -> Any:
    """The decoded JSON of a part, or ``None`` when it has none."""
    try:
        return part.json()
    except (ValueError, json.JSONDecodeError):
        return None
