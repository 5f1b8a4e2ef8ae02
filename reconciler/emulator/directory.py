"""The Admin SDK Directory API, as much of it as a controller that picks its accounts needs.

A Workspace admin names the mailboxes a controller keeps by organisational unit, by a users
search or by group; the controller asks ``users.list`` and ``members.list`` with a service
account acting as an admin. These two methods are served here, over the same app as the People
API, so the whole path (the selection, paging, delegation's admin subject, faults) runs end to
end without Google: users and groups are seeded through ``/__emulator/directory/...``.

What is modelled, as Google documents it: ``users.list`` needs ``customer`` (``my_customer`` or
the customer id) or ``domain``; ``query`` takes space-separated clauses, ANDed, of which
``orgUnitPath=`` (a subtree match), ``isSuspended=``, ``isArchived=``, ``isAdmin=`` and
``email`` (``=`` exact, ``:prefix*``) are understood; ``maxResults`` is 1..500 (default 100);
``members.list`` takes the group's address or id, ``maxResults`` 1..200 (default 200) and
``includeDerivedMembership`` (members of nested groups too). Only an admin who is neither
suspended nor archived may call them (403 ``Not Authorized to access this resource/api``).
The directory is kept in memory only (not in the state file).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import tokens
from reconciler.emulator.errors import ApiError, bad_request, unauthenticated
from reconciler.emulator.routing import answered, bearer_token, check_params

if TYPE_CHECKING:
    from reconciler.emulator.backend import Emulator

log = logging.getLogger(__name__)

CUSTOMER_ID = "C01emu4te"
"""The made-up id of the one Workspace customer the emulator's directory belongs to."""
MY_CUSTOMER = "my_customer"
FORBIDDEN_MESSAGE = "Not Authorized to access this resource/api"
GROUP_NOT_FOUND_MESSAGE = "Resource Not Found: groupKey"
USERS_PAGE = (1, 500, 100)  # maxResults: min, max, default
MEMBERS_PAGE = (1, 200, 200)
USERS_LIST = "directory.users.list"
MEMBERS_LIST = "directory.members.list"
USERS_PARAMS = frozenset(
    {"customer", "domain", "query", "showDeleted", "maxResults", "pageToken", "orderBy"}
    | {"sortOrder", "projection", "viewType"}
)


def _id(text: str) -> str:
    """A stable numeric id, as Google gives users, members and groups."""
    return str(int(hashlib.sha256(text.encode()).hexdigest()[:15], 16))


@dataclass
class DirectoryUser:
    """One user of the customer."""

    email: str
    org_unit_path: str = "/"
    suspended: bool = False
    archived: bool = False
    is_admin: bool = False
    name: str = ""

    def render(self) -> dict[str, Any]:
        given, _, family = (self.name or self.email.split("@")[0]).partition(" ")
        return {
            "kind": "admin#directory#user",
            "id": _id(self.email),
            "etag": f'"{_id("etag:" + repr(self))}"',
            "primaryEmail": self.email,
            "name": {"givenName": given, "familyName": family, "fullName": self.name or given},
            "isAdmin": self.is_admin,
            "suspended": self.suspended,
            "archived": self.archived,
            "orgUnitPath": self.org_unit_path,
            "customerId": CUSTOMER_ID,
        }


@dataclass
class DirectoryGroup:
    """One group: its members' addresses (users or other groups) and their roles."""

    email: str
    members: dict[str, str] = field(default_factory=dict)  # address -> role

    @property
    def id(self) -> str:
        return _id("group:" + self.email)


class Directory:
    """The customer's users and groups, keyed by lowercased address."""

    def __init__(self) -> None:
        self.users: dict[str, DirectoryUser] = {}
        self.groups: dict[str, DirectoryGroup] = {}

    def clear(self) -> None:
        self.users.clear()
        self.groups.clear()

    def group(self, key: str) -> DirectoryGroup:
        """A group by address or id; else Google's 404."""
        found = self.groups.get(key.lower()) or next(
            (g for g in self.groups.values() if g.id == key), None
        )
        if found is None:
            raise ApiError("NOT_FOUND", GROUP_NOT_FOUND_MESSAGE)
        return found

    def members(self, group: DirectoryGroup, *, derived: bool) -> Iterator[dict[str, Any]]:
        """The group's members as ``members.list`` renders them; with ``derived`` the users of
        nested groups follow, each address once (cycles are cut)."""
        seen: set[str] = set()
        stack: list[tuple[DirectoryGroup, bool]] = [(group, True)]
        visited: set[str] = set()
        while stack:
            current, direct = stack.pop(0)
            if current.email in visited:
                continue
            visited.add(current.email)
            for address, role in current.members.items():
                nested = self.groups.get(address)
                if nested is not None and derived:
                    stack.append((nested, False))
                if address in seen or (not direct and nested is not None):
                    continue
                seen.add(address)
                yield self._member(address, role if direct else "MEMBER", nested is not None)

    def _member(self, address: str, role: str, is_group: bool) -> dict[str, Any]:
        member: dict[str, Any] = {
            "kind": "admin#directory#member",
            "etag": f'"{_id("member:" + address + role)}"',
            "id": _id(("group:" if is_group else "") + address),
            "email": address,
            "role": role,
            "type": "GROUP" if is_group else "USER",
        }
        user = self.users.get(address)
        if not is_group:
            member["status"] = "SUSPENDED" if user is not None and user.suspended else "ACTIVE"
        return member


# -- users.list queries ----------------------------------------------------------------------

_CLAUSE = re.compile(r"^(?P<field>[A-Za-z][A-Za-z0-9_.]*)(?P<op>=|:)(?P<value>.*)$", re.DOTALL)
_BOOLEAN_FIELDS: dict[str, Callable[[DirectoryUser], bool]] = {
    "isSuspended": lambda u: u.suspended,
    "isArchived": lambda u: u.archived,
    "isAdmin": lambda u: u.is_admin,
}


def _clauses(query: str) -> Iterator[str]:
    """Space-separated clauses; single quotes keep spaces, ``\\'`` is a quote."""
    current, quoted, escaped = [], False, False
    for char in query:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "'":
            quoted = not quoted
        elif char.isspace() and not quoted:
            if current:
                yield "".join(current)
            current = []
        else:
            current.append(char)
    if quoted:
        raise bad_request(f"Invalid Input: {query}")
    if current:
        yield "".join(current)


def _in_unit(path: str) -> Callable[[DirectoryUser], bool]:
    """``orgUnitPath=`` matches the unit and every unit under it."""
    unit = path.rstrip("/").casefold()

    def test(user: DirectoryUser) -> bool:
        own = user.org_unit_path.rstrip("/").casefold()
        return not unit or own == unit or own.startswith(unit + "/")

    return test


def _clause_test(name: str, op: str, value: str) -> Callable[[DirectoryUser], bool] | None:
    """The test of one understood clause, or None."""
    if name == "orgUnitPath" and op == "=" and value.startswith("/"):
        return _in_unit(value)
    if name in _BOOLEAN_FIELDS and op == "=" and value in ("true", "false"):
        flag, wanted = _BOOLEAN_FIELDS[name], value == "true"
        return lambda user: flag(user) is wanted
    address = value.lower()
    if name == "email" and op == "=":
        return lambda user: user.email == address
    if name == "email" and op == ":" and address.endswith("*"):
        return lambda user: user.email.startswith(address[:-1])
    return None


def query_filter(query: str) -> Callable[[DirectoryUser], bool]:
    """The users a ``query`` matches; a clause the emulator does not understand is a 400."""
    tests: list[Callable[[DirectoryUser], bool]] = []
    for clause in _clauses(query):
        match = _CLAUSE.match(clause)
        test = _clause_test(match["field"], match["op"], match["value"]) if match else None
        if test is None:
            raise bad_request(f"Invalid Input: {clause}")
        tests.append(test)
    return lambda user: all(test(user) for test in tests)


# -- the HTTP methods --------------------------------------------------------------------------


def _page_size(raw: str | None, bounds: tuple[int, int, int]) -> int:
    low, high, default = bounds
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}'. Values must be within the range: "
                          f"[{low}, {high}]") from None  # fmt: skip
    if not low <= size <= high:
        raise bad_request(
            f"Invalid value '{raw}'. Values must be within the range: [{low}, {high}]"
        )
    return size


def _listing(
    request: Request,
    admin: str,
    key: str,
    items: list[dict[str, Any]],
    size: int,
    bound: tuple[Any, ...],
) -> dict[str, Any]:
    """One page of ``items`` under ``key`` (left out when empty, as Google does) and the token
    of the next page (none on the last). Tokens are bound to the other parameters (``bound``)
    and to the admin who asked."""
    offset = 0
    raw = request.query_params.get("pageToken")
    if raw:
        data = tokens.decode(raw, "page", admin)
        if data.get("f") != tokens.fingerprint(*bound):
            raise tokens.mismatch("list", "pageToken")
        offset = int(data.get("o", 0))
    end = offset + size
    body: dict[str, Any] = {"kind": f"admin#directory#{key}", "etag": f'"{_id(repr(bound))}"'}
    if items[offset:end]:
        body[key] = items[offset:end]
    if end < len(items):
        body["nextPageToken"] = tokens.encode("page", u=admin, o=end, f=tokens.fingerprint(*bound))
    return body


def _users(request: Request, emulator: Emulator, admin: str) -> dict[str, Any]:
    params = request.query_params
    customer, domain = params.get("customer"), params.get("domain")
    if not customer and not domain:
        raise bad_request("Bad Request")
    if customer and customer not in (MY_CUSTOMER, CUSTOMER_ID):
        raise ApiError("PERMISSION_DENIED", FORBIDDEN_MESSAGE)
    size = _page_size(params.get("maxResults"), USERS_PAGE)
    matches = query_filter(params.get("query") or "")
    wanted = [
        user
        for user in emulator.directory.users.values()
        if matches(user) and (not domain or user.email.endswith("@" + domain.lower()))
    ]
    if params.get("showDeleted") == "true":
        wanted = []  # deleted users are not kept
    descending = params.get("sortOrder") == "DESCENDING"
    rendered = [u.render() for u in sorted(wanted, key=lambda u: u.email, reverse=descending)]
    bound = (customer, domain, params.get("query"), params.get("showDeleted"), descending)
    return _listing(request, admin, "users", rendered, size, bound)


def _members(request: Request, emulator: Emulator, admin: str) -> dict[str, Any]:
    params = request.query_params
    group = emulator.directory.group(request.path_params["groupKey"])
    size = _page_size(params.get("maxResults"), MEMBERS_PAGE)
    raw_derived = params.get("includeDerivedMembership", "false").lower()
    if raw_derived not in ("true", "false"):
        raise bad_request(f"Invalid value '{raw_derived}' for includeDerivedMembership")
    derived = raw_derived == "true"
    roles = {r.strip().upper() for r in params.get("roles", "").split(",") if r.strip()}
    listed = [
        m
        for m in emulator.directory.members(group, derived=derived)
        if not roles or m["role"] in roles
    ]
    bound = (group.email, derived, sorted(roles))
    return _listing(request, admin, "members", listed, size, bound)


def _method(
    method_id: str,
    handler: Callable[[Request, Emulator, str], dict[str, Any]],
    params: frozenset[str],
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        emulator: Emulator = request.app.state.emulator

        async def work() -> dict[str, Any]:
            token = bearer_token(request)
            if token is None:
                raise unauthenticated()
            caller = emulator.user_for_token(token).lower()
            admin = emulator.directory.users.get(caller)
            if admin is None or not admin.is_admin or admin.suspended or admin.archived:
                raise ApiError("PERMISSION_DENIED", FORBIDDEN_MESSAGE)
            check_params(request.query_params.multi_items(), params)
            await emulator.faults.before_directory_call()
            return handler(request, emulator, caller)

        return await answered(emulator, method_id, work)

    return endpoint


ROUTES: list[Route] = [
    Route(
        "/admin/directory/v1/users",
        _method(
            USERS_LIST,
            _users,
            USERS_PARAMS,
        ),
        methods=["GET"],
        name=USERS_LIST,
    ),
    Route(
        "/admin/directory/v1/groups/{groupKey}/members",
        _method(
            MEMBERS_LIST,
            _members,
            frozenset({"includeDerivedMembership", "maxResults", "pageToken", "roles"}),
        ),
        methods=["GET"],
        name=MEMBERS_LIST,
    ),
]
