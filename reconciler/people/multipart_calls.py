"""Calls sent through the multipart ``/batch`` endpoint (a mixin of :class:`PeopleClient`).

For methods with no batch form of their own. Parts are paced at what each costs on its own (the
API counts n inner calls as n requests), sent in as many round trips as pacing allows, matched
to their answers by Content-ID, and retried part by part: a 429 or 5xx part is sent again after
backoff, other failed parts are reported in their :class:`CallResult`. A create part is resent
only when nothing can have been made (a 429); one whose answer is lost becomes
:class:`UnknownOutcome` and a 5xx stays a failure: neither is ever resent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.model.limits import MAX_MULTIPART_CALLS
from reconciler.model.quotas import Quota, cost_of
from reconciler.people.batching import mask
from reconciler.people.errors import PeopleError, UnknownOutcome, classify
from reconciler.people.multipart import InnerRequest
from reconciler.people.results import CallResult
from reconciler.people.retry import retryable
from reconciler.people.transport import ClientConfig, Transport, json_body

__all__ = ["MultipartCalls", "delete_group_call", "update_contact_call"]


def update_contact_call(
    person: Mapping[str, Any],
    update_person_fields: str | Sequence[str],
    person_fields: str | Sequence[str] = "metadata",
    *,
    content_id: str | None = None,
) -> InnerRequest:
    """An ``updateContact`` call for :meth:`MultipartCalls.batch`."""
    return InnerRequest(
        "PATCH",
        f"/v1/{person['resourceName']}:updateContact",
        params=(
            ("updatePersonFields", mask(update_person_fields)),
            ("personFields", mask(person_fields)),
        ),
        body=dict(person),
        content_id=content_id or uuid.uuid4().hex,
    )


def delete_group_call(resource_name: str, *, content_id: str | None = None) -> InnerRequest:
    """A ``contactGroups.delete`` call for :meth:`MultipartCalls.batch`."""
    return InnerRequest("DELETE", f"/v1/{resource_name}", content_id=content_id or uuid.uuid4().hex)


def _is_create(call: InnerRequest) -> bool:
    return call.path.endswith(":createContact") or (
        call.method.upper() == "POST" and call.path.rstrip("/").endswith("/v1/contactGroups")
    )


class MultipartCalls:
    """The ``/batch`` endpoint over a :class:`Transport`."""

    transport: Transport
    config: ClientConfig

    async def batch(self, calls: Sequence[InnerRequest]) -> list[CallResult]:
        """Run ``calls`` (in any order, as the server pleases); results in input order."""
        writes = any(call.method.upper() != "GET" for call in calls)
        if writes:
            async with self.transport.buckets.mutation:
                return await self._batch(calls)
        return await self._batch(calls)

    def _rounds(self, calls: Sequence[InnerRequest]) -> Iterator[list[InnerRequest]]:
        """The calls cut into round trips, in order: each as many calls as every bucket they
        draw on holds (so that no round trip leaves one in debt), within the endpoint's
        limit; a call dearer than a bucket goes alone."""
        buckets = self.transport.buckets
        limit = max(1, min(self.config.batch_calls, MAX_MULTIPART_CALLS))
        chunk: list[InnerRequest] = []
        used: dict[Quota, int] = {}
        for call in calls:
            costs = cost_of(call.api_method())
            fits = len(chunk) < limit and all(
                used.get(quota, 0) + units <= buckets.holds(quota) for quota, units in costs.items()
            )
            if chunk and not fits:
                yield chunk
                chunk, used = [], {}
            chunk.append(call)
            for quota, units in costs.items():
                used[quota] = used.get(quota, 0) + units
        if chunk:
            yield chunk

    async def _batch(self, calls: Sequence[InnerRequest]) -> list[CallResult]:
        results: dict[str, CallResult] = {}
        retrier = self.transport.retrier
        pending = list(calls)
        started = self.transport.clock.now()
        retry = 0
        while pending:
            again: list[tuple[InnerRequest, PeopleError]] = []
            for chunk in self._rounds(pending):
                again += await self._round(chunk, results)
            if not again:
                break
            worst = max(
                (error for _, error in again),
                key=lambda e: getattr(e, "retry_after", None) or 0.0,
            )
            wait = retrier.policy.delay(retry, worst, retrier.rng)
            out_of_time = self.transport.clock.now() + wait - started > retrier.policy.deadline
            if retry + 1 >= retrier.policy.max_attempts or out_of_time:
                for call, error in again:
                    results[call.content_id] = CallResult(
                        call.content_id, error.status or 0, error=error
                    )
                break
            self.transport.stats.retries += 1
            self.transport.log.info(
                "people.retry",
                method="batch",
                error=type(worst).__name__,
                status=worst.status,
                parts=len(again),
                attempt=retry + 1,
                wait=round(wait, 3),
                **worst.log_fields(),
            )
            await self.transport.clock.sleep(wait)
            retry += 1
            pending = [call for call, _ in again]
        return [results[call.content_id] for call in calls]

    async def _round(
        self, chunk: list[InnerRequest], results: dict[str, CallResult]
    ) -> list[tuple[InnerRequest, PeopleError]]:
        """Send one chunk; record final results, return the parts to try again."""
        creates = [call for call in chunk if _is_create(call)]
        try:
            parts = await self.transport.send_batch(chunk, create=bool(creates))
        except UnknownOutcome as lost:
            for call in chunk:
                results[call.content_id] = CallResult(call.content_id, 0, error=lost)
            return []
        except PeopleError as error:
            resend = [call for call in chunk if retryable(error, create=_is_create(call))]
            for call in chunk:
                if call not in resend:
                    results[call.content_id] = CallResult(
                        call.content_id, error.status or 0, error=error
                    )
            return [(call, error) for call in resend]
        again: list[tuple[InnerRequest, PeopleError]] = []
        for call in chunk:
            part = parts[call.content_id]
            body = json_body(part)
            if 200 <= part.status < 300:
                results[call.content_id] = CallResult(call.content_id, part.status, body)
                continue
            failure = classify(
                part.status,
                part.body,
                retry_after=part.headers.get("retry-after"),
                method="batch",
                resource=call.path.removeprefix("/v1/").split(":")[0],
            )
            if retryable(failure, create=_is_create(call)):
                again.append((call, failure))
            else:
                results[call.content_id] = CallResult(call.content_id, part.status, body, failure)
        return again
