"""The admin surface under ``/__emulator/``: reset, knobs, scripted edits, dump, statistics,
and the Directory's users and groups.

Plain JSON, no authentication: it is for tests, benchmarks and users' own scripts, and it is
documented in ``docs/emulator.md``. Admin requests are not People API calls, so they are not
counted in the statistics and no knob applies to them.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.emulator import contacts
from reconciler.emulator.clock import rfc3339
from reconciler.emulator.directory import CUSTOMER_ID, DirectoryGroup, DirectoryUser
from reconciler.emulator.errors import ApiError, bad_request, not_found
from reconciler.emulator.routing import error_response
from reconciler.emulator.schema import READABLE_FIELDS, WRITABLE_FIELDS, check_person, parse_mask
from reconciler.emulator.store import AddressBook

if TYPE_CHECKING:
    from reconciler.emulator.backend import Emulator


def _emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


async def reset(request: Request) -> Response:
    """Forget every user's contacts and groups and the statistics; the knobs stay."""
    _emulator(request).reset()
    return JSONResponse({})


def _problems(error: ValidationError) -> str:
    """What pydantic found wrong, one ``field: message`` after another."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())


async def config(request: Request) -> Response:
    """GET the knobs, or PATCH some of them (unknown names and bad values are a 400)."""
    emulator = _emulator(request)
    if request.method == "PATCH":
        try:
            emulator.configure(await _json_body(request))
        except ApiError as error:
            return error_response(error)
        except ValidationError as error:
            return error_response(bad_request(f"Invalid emulator config: {_problems(error)}"))
    return JSONResponse(emulator.config.model_dump())


def _dump_book(emulator: Emulator, book: AddressBook) -> dict[str, Any]:
    region = emulator.config.default_region
    fields = sorted(READABLE_FIELDS)
    people = sorted(book.people.values(), key=lambda c: c.seq)
    return {
        "people": [contacts.render(contact, fields, region) for contact in people],
        "contactGroups": [
            {
                "resourceName": group.resource_name,
                "etag": group.etag,
                "name": group.name,
                "groupType": "SYSTEM_CONTACT_GROUP" if group.system else "USER_CONTACT_GROUP",
                "clientData": group.client_data,
                "memberCount": len(book.members.get(group.resource_name, ())),
            }
            for group in book.groups.values()
        ],
        "deletedPeople": sorted(book.deleted_people),
    }


async def dump(request: Request) -> Response:
    """Every user's contacts and groups, as the API would render them; ``?user=`` (repeatable)
    keeps only those users, so a benchmark over thousands of books can check a few cheaply."""
    emulator = _emulator(request)
    wanted = set(request.query_params.getlist("user"))
    users = {
        user: _dump_book(emulator, book)
        for user, book in sorted(emulator.books.items())
        if not wanted or user in wanted
    }
    return JSONResponse({"users": users})


async def stats(request: Request) -> Response:
    """API requests answered, by method id and by status."""
    return JSONResponse(_emulator(request).stats.snapshot())


async def edit(request: Request) -> Response:
    """An out-of-band edit of one contact, as a person on a phone would make: no etag needed.

    Body: ``{"user", "resourceName", "person", "updatePersonFields"}``; answers the new person.
    """
    emulator = _emulator(request)
    try:
        body = await _json_body(request)
        user = body.get("user") or emulator.user_for_token("")
        name = body.get("resourceName")
        if not isinstance(user, str) or not isinstance(name, str):
            raise bad_request('"user" and "resourceName" must be strings.')
        book = emulator.books.get(user)
        contact = book.people.get(name) if book is not None else None
        if book is None or contact is None:
            raise not_found()
        person = check_person(body.get("person") or {})
        raw_mask = body.get("updatePersonFields")
        if raw_mask is None:
            raw_mask = ",".join(sorted(WRITABLE_FIELDS & person.keys()))
        mask = parse_mask(
            raw_mask if isinstance(raw_mask, str) else None,
            name="updatePersonFields",
            allowed=WRITABLE_FIELDS,
            required=True,
            method_doc="people/updateContact",
        )
        updated = contacts.update(book, contact, person, mask, emulator.now(), out_of_band=True)
    except ApiError as error:
        return error_response(error)
    book.put_contact(updated)
    emulator.commit([book])
    region = emulator.config.default_region
    return JSONResponse(contacts.render(updated, sorted(READABLE_FIELDS), region))


def _clock_body(emulator: Emulator) -> dict[str, Any]:
    now = emulator.now()
    return {"now": rfc3339(now), "epoch": now, "advanced": emulator.offset}


async def clock(request: Request) -> Response:
    """GET the emulator's time, or POST ``{"advance": seconds}`` to move it forward.

    Everything time-dependent follows: sync-token expiry, the lag knobs, quota windows and
    update times. Time never moves back (a negative or non-numeric advance is a 400).
    """
    emulator = _emulator(request)
    if request.method == "POST":
        try:
            body = await _json_body(request)
            seconds = body.get("advance")
            if set(body) != {"advance"} or isinstance(seconds, bool):
                raise bad_request('The body must be {"advance": <seconds>}.')
            if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
                raise bad_request(f'"advance" must be a number of seconds >= 0: {seconds!r}')
        except ApiError as error:
            return error_response(error)
        emulator.advance(float(seconds))
    return JSONResponse(_clock_body(emulator))


class _UserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    orgUnitPath: str = Field("/", pattern=r"^/")  # the API's own spelling
    suspended: bool = False
    archived: bool = False
    isAdmin: bool = False
    name: str = ""


class _Member(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    role: str = Field("MEMBER", pattern=r"^(OWNER|MANAGER|MEMBER)$")


_Seed = TypeVar("_Seed", bound=BaseModel)


class _GroupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[_Member | str] = Field(default_factory=list)


async def _seed(request: Request, model: type[_Seed]) -> _Seed | Response:
    """The request's body as ``model``, or the 400 that says what is wrong with it."""
    try:
        return model.model_validate(await _json_body(request))
    except ApiError as error:
        return error_response(error)
    except ValidationError as error:
        return error_response(bad_request(f"Invalid directory entry: {_problems(error)}"))


async def directory(request: Request) -> Response:
    """The seeded directory: the customer id, every user and every group with its members."""
    seeded = _emulator(request).directory
    return JSONResponse(
        {
            "customerId": CUSTOMER_ID,
            "users": [u.render() for _, u in sorted(seeded.users.items())],
            "groups": [
                {"email": g.email, "id": g.id, "members": g.members}
                for _, g in sorted(seeded.groups.items())
            ],
        }
    )


async def directory_user(request: Request) -> Response:
    """PUT a user (created or replaced: ``orgUnitPath``, ``suspended``, ``archived``,
    ``isAdmin``, ``name``), or DELETE one; a user who is gone leaves every group too."""
    seeded = _emulator(request).directory
    email = request.path_params["email"].lower()
    if request.method == "DELETE":
        if seeded.users.pop(email, None) is None:
            return error_response(not_found())
        for group in seeded.groups.values():
            group.members.pop(email, None)
        return JSONResponse({})
    body = await _seed(request, _UserBody)
    if isinstance(body, Response):
        return body
    user = DirectoryUser(
        email, body.orgUnitPath, body.suspended, body.archived, body.isAdmin, body.name
    )
    seeded.users[email] = user
    return JSONResponse(user.render())


async def directory_group(request: Request) -> Response:
    """PUT a group with its ``members`` (addresses, or ``{"email", "role"}``; an address that
    is a group's is a nested group), replacing any before; or DELETE it."""
    seeded = _emulator(request).directory
    email = request.path_params["email"].lower()
    if request.method == "DELETE":
        if seeded.groups.pop(email, None) is None:
            return error_response(not_found())
        return JSONResponse({})
    body = await _seed(request, _GroupBody)
    if isinstance(body, Response):
        return body
    members = [_Member(email=m) if isinstance(m, str) else m for m in body.members]
    group = DirectoryGroup(email, {m.email.lower(): m.role for m in members})
    seeded.groups[email] = group
    return JSONResponse({"email": group.email, "id": group.id, "members": group.members})


ROUTES: list[Route] = [
    Route("/__emulator/directory", directory, methods=["GET"]),
    Route("/__emulator/directory/users/{email}", directory_user, methods=["PUT", "DELETE"]),
    Route("/__emulator/directory/groups/{email}", directory_group, methods=["PUT", "DELETE"]),
    Route("/__emulator/clock", clock, methods=["GET", "POST"]),
    Route("/__emulator/reset", reset, methods=["POST"]),
    Route("/__emulator/config", config, methods=["GET", "PATCH"]),
    Route("/__emulator/edit", edit, methods=["POST"]),
    Route("/__emulator/dump", dump, methods=["GET"]),
    Route("/__emulator/stats", stats, methods=["GET"]),
]
