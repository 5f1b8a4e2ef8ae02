"""How an HTTP request becomes a call to an API handler, and the answer a JSON response.

Each People API method is a Starlette :class:`~starlette.routing.Route` made by
:func:`api_route`. The wrapper does what every Google endpoint does before and after the method
itself: authenticate the bearer token, reject unknown query parameters, apply the knobs
(latency, quotas, random errors, the out-of-band editor), run the handler, write what changed to
the state file, turn an :class:`~reconciler.emulator.errors.ApiError` into Google's body, and
count the request by method id and status.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.emulator.errors import ApiError, bad_request, unauthenticated
from reconciler.emulator.store import JSON, AddressBook
from reconciler.model.quotas import cost_of

if TYPE_CHECKING:
    from reconciler.emulator.backend import Emulator

log = logging.getLogger(__name__)

CLIENT_CLOSED = 499  # counted for a call whose caller went away before it was read (nginx's code)
STANDARD_PARAMS = frozenset(
    {
        "$.xgafv",
        "access_token",
        "alt",
        "callback",
        "fields",
        "key",
        "oauth_token",
        "prettyPrint",
        "quotaUser",
        "uploadType",
        "upload_protocol",
    }
)
READ_SOURCES = frozenset(
    {
        "READ_SOURCE_TYPE_UNSPECIFIED",
        "READ_SOURCE_TYPE_PROFILE",
        "READ_SOURCE_TYPE_CONTACT",
        "READ_SOURCE_TYPE_DOMAIN_CONTACT",
    }
)


@dataclass
class Call:
    """One authenticated API call, as a handler sees it."""

    emulator: Emulator
    book: AddressBook
    path_params: dict[str, str]
    query: list[tuple[str, str]]
    body: bytes

    def param(self, name: str) -> str | None:
        """The last value of query parameter ``name``, if given."""
        values = self.params(name)
        return values[-1] if values else None

    def params(self, name: str) -> list[str]:
        """Every value of a repeated query parameter."""
        return [v for k, v in self.query if k == name]

    def int_param(self, name: str, default: int) -> int:
        """An integer query parameter; a non-integer is Google's 400."""
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise bad_request(
                f"Invalid value at '{_snake(name)}' (TYPE_INT32), \"{raw}\""
            ) from None

    def bool_param(self, name: str) -> bool:
        """A boolean query parameter (``true``/``false``)."""
        raw = self.param(name)
        if raw is None or raw == "":
            return False
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise bad_request(f"Invalid value at '{_snake(name)}' (TYPE_BOOL), \"{raw}\"")

    def json(self) -> JSON:
        """The request body as a JSON object; malformed JSON is Google's 400."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise bad_request("Invalid JSON payload received. Unexpected token.") from None
        if not isinstance(data, dict):
            raise bad_request(
                'Invalid JSON payload received. Unknown name "": Root element must be a message.'
            )
        return data

    def json_fields(self, allowed: set[str]) -> JSON:
        """The JSON body of a request message with fields ``allowed``; others are a 400."""
        body = self.json()
        for name in body:
            if name not in allowed:
                raise bad_request(
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
                )
        return body


Handler = Callable[[Call], JSON]


@dataclass(frozen=True)
class ApiMethod:
    """What a route serves: for tests that compare it with Google's discovery document."""

    method_id: str
    http_method: str
    path: str
    params: frozenset[str]


METHODS: dict[str, ApiMethod] = {}
"""Every People API method the emulator serves, by method id."""


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def error_response(error: ApiError) -> Response:
    """Google's JSON error body for ``error``."""
    return JSONResponse(error.body(), status_code=error.code, headers=error.headers)


def bearer_token(request: Request) -> str | None:
    """The OAuth access token of a request: the Authorization header or ``access_token``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query_params.get("access_token") or request.query_params.get("oauth_token")


def check_params(query: Iterable[tuple[str, str]], allowed: frozenset[str]) -> None:
    for name, value in query:
        if name in STANDARD_PARAMS:
            continue
        if name not in allowed:
            raise bad_request(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                f"parameter. Field '{name}' could not be found in request message."
            )
        if name == "sources" and value not in READ_SOURCES:
            raise bad_request(
                "Invalid value at 'sources' "
                f'(type.googleapis.com/google.people.v1.ReadSourceType), "{value}"'
            )


def api_route(
    path: str,
    http_method: str,
    method_id: str,
    handler: Handler,
    *,
    params: Iterable[str] = (),
) -> Route:
    """A Starlette route serving one People API method through the common wrapper."""
    allowed = frozenset(params)
    METHODS[method_id] = ApiMethod(method_id, http_method, path, allowed)
    # What a call costs in quota units: the reference page's name is the discovery id without
    # the service's.
    costs = cost_of(method_id.removeprefix("people."))

    async def endpoint(request: Request) -> Response:
        emulator: Emulator = request.app.state.emulator
        book: AddressBook | None = None

        async def work() -> JSON:
            nonlocal book
            token = bearer_token(request)
            if token is None:
                raise unauthenticated()
            book = emulator.book(emulator.user_for_token(token))
            query = list(request.query_params.multi_items())
            check_params(query, allowed)
            await emulator.faults.before_call(costs, book)
            call = Call(emulator, book, dict(request.path_params), query, await request.body())
            return handler(call)

        def commit() -> None:
            if book is not None and book.dirty:
                emulator.commit([book])

        return await answered(emulator, method_id, work, after=commit)

    return Route(path, endpoint, methods=[http_method], name=method_id)


async def answered(
    emulator: Emulator,
    method_id: str,
    work: Callable[[], Awaitable[JSON]],
    *,
    after: Callable[[], None] | None = None,
) -> Response:
    """Run one API method's ``work`` and answer it as Google would: its JSON, or the error body
    of an :class:`ApiError` (anything else is a logged 500; a caller gone before its request was
    read is counted as 499 and not logged); then ``after`` (writing what changed), and the call
    is counted by method id and status."""
    status = 500
    try:
        result = await work()
        status = 200
        return JSONResponse(result)
    except ApiError as error:
        status = error.code
        return error_response(error)
    except ClientDisconnect:  # the caller went away (it cancelled): nobody reads an answer
        status = CLIENT_CLOSED
        return Response(status_code=CLIENT_CLOSED)
    except Exception:
        log.exception("emulator handler failed", extra={"method": method_id})
        return error_response(ApiError("INTERNAL", "Internal error encountered."))
    finally:
        if after is not None:
            after()
        emulator.stats.record(method_id, status)


def check_count(items: Any, name: str, limit: int) -> None:
    """An empty or oversized list of items is a 400 naming the limit."""
    if not items:
        raise bad_request(f"{name} must not be empty.", field=name)
    if len(items) > limit:
        raise bad_request(
            f"Too many {name}: {len(items)}. At most {limit} are allowed in one request.",
            field=name,
        )


def any_json(value: Any) -> JSON:
    """``value`` if it is a JSON object, else a 400 (for nested request members)."""
    if not isinstance(value, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    return value
