"""The emulator's Directory API: users.list and members.list as Google documents them, seeded
through the admin surface, and answered to Google's own client over HTTP.

The authority for paths, parameters and page sizes is the Admin SDK Directory discovery
document shipped inside google-api-python-client; it is read here, never copied.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import googleapiclient
import httpx
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from starlette.applications import Starlette

from reconciler.emulator.directory import MEMBERS_LIST, ROUTES, USERS_LIST, USERS_PARAMS
from reconciler.emulator.routing import STANDARD_PARAMS
from tests.support.clients import emulator_client

DISCOVERY = (
    Path(googleapiclient.__file__).parent / "discovery_cache/documents/admin.directory_v1.json"
)
ADMIN = "admin@example.com"


@pytest.fixture
async def admin(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` as the admin, with a small directory seeded."""
    async with emulator_client(app, f"user:{ADMIN}") as client:
        for email, body in {
            ADMIN: {"orgUnitPath": "/IT", "isAdmin": True},
            "alice@example.com": {"orgUnitPath": "/Sales"},
            "bob@example.com": {"orgUnitPath": "/Sales/East Coast"},
            "carol@example.com": {"orgUnitPath": "/Salesforce"},
            "dave@example.com": {"orgUnitPath": "/Sales", "suspended": True},
            "erin@other.example": {"orgUnitPath": "/Sales"},
        }.items():
            (await client.put(f"/__emulator/directory/users/{email}", json=body)).raise_for_status()
        groups = {
            "eng@example.com": ["alice@example.com", "oncall@example.com", "ext@elsewhere.org"],
            "oncall@example.com": ["bob@example.com", "dave@example.com", "eng@example.com"],
        }
        for email, members in groups.items():
            answer = await client.put(
                f"/__emulator/directory/groups/{email}", json={"members": members}
            )
            answer.raise_for_status()
        yield client


async def emails(client: httpx.AsyncClient, **params: str) -> list[str]:
    answer = await client.get("/admin/directory/v1/users", params=params)
    assert answer.status_code == 200, answer.text
    return [u["primaryEmail"] for u in answer.json().get("users", [])]


async def test_an_org_unit_query_matches_the_unit_and_the_units_under_it(
    admin: httpx.AsyncClient,
) -> None:
    """`orgUnitPath=` is a subtree match (not a prefix of names), quoted values keep spaces,
    clauses are ANDed."""
    assert await emails(admin, customer="my_customer", query="orgUnitPath=/Sales") == [
        "alice@example.com",
        "bob@example.com",
        "dave@example.com",
        "erin@other.example",
    ]
    east = await emails(admin, customer="my_customer", query="orgUnitPath='/Sales/East Coast'")
    assert east == ["bob@example.com"]
    active = "orgUnitPath=/Sales isSuspended=false"
    assert "dave@example.com" not in await emails(admin, customer="my_customer", query=active)
    assert await emails(admin, domain="other.example") == ["erin@other.example"]
    assert len(await emails(admin, customer="my_customer", query="orgUnitPath=/")) == 6


async def test_users_are_paged_by_max_results_with_tokens(admin: httpx.AsyncClient) -> None:
    """maxResults cuts pages; nextPageToken reaches the rest; the last page has no token."""
    first = await admin.get(
        "/admin/directory/v1/users", params={"customer": "my_customer", "maxResults": "4"}
    )
    body = first.json()
    assert len(body["users"]) == 4
    assert body["kind"] == "admin#directory#users"
    second = await admin.get(
        "/admin/directory/v1/users",
        params={"customer": "my_customer", "maxResults": "4", "pageToken": body["nextPageToken"]},
    )
    rest = second.json()
    assert len(rest["users"]) == 2
    assert "nextPageToken" not in rest


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "Bad Request"),
        ({"customer": "my_customer", "maxResults": "501"}, 400, "range: [1, 500]"),
        ({"customer": "my_customer", "maxResults": "0"}, 400, "range: [1, 500]"),
        ({"customer": "my_customer", "query": "shoeSize=9"}, 400, "Invalid Input"),
        ({"customer": "my_customer", "colour": "blue"}, 400, 'Unknown name "colour"'),
        ({"customer": "C999"}, 403, "Not Authorized to access this resource/api"),
    ],
)
async def test_bad_users_requests_are_answered_as_google_does(
    admin: httpx.AsyncClient, params: dict[str, str], status: int, message: str
) -> None:
    """Without customer or domain, out-of-range page sizes, unknown query fields or
    parameters, another customer: Google's status and wording."""
    answer = await admin.get("/admin/directory/v1/users", params=params)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert message in error["message"]
    assert error["code"] == status


async def test_only_an_active_admin_may_ask(admin: httpx.AsyncClient, app: Starlette) -> None:
    """No token is 401; a user who is not an admin, or a suspended admin, is 403."""
    params = {"customer": "my_customer"}
    async with emulator_client(app, None) as anonymous:
        assert (await anonymous.get("/admin/directory/v1/users", params=params)).status_code == 401
        headers = {"Authorization": "Bearer user:alice@example.com"}
        answer = await anonymous.get("/admin/directory/v1/users", params=params, headers=headers)
        assert answer.status_code == 403
        assert answer.json()["error"]["errors"][0]["reason"] == "forbidden"
    await admin.put(
        f"/__emulator/directory/users/{ADMIN}", json={"isAdmin": True, "suspended": True}
    )
    assert (await admin.get("/admin/directory/v1/users", params=params)).status_code == 403


async def test_members_are_listed_direct_or_derived(admin: httpx.AsyncClient) -> None:
    """Without includeDerivedMembership a nested group is one GROUP member; with it, the users
    of nested groups follow, each once, cycles cut; suspended members say so."""
    path = "/admin/directory/v1/groups/eng@example.com/members"
    direct = (await admin.get(path)).json()["members"]
    assert {(m["email"], m["type"]) for m in direct} == {
        ("alice@example.com", "USER"),
        ("oncall@example.com", "GROUP"),
        ("ext@elsewhere.org", "USER"),
    }
    derived = (await admin.get(path, params={"includeDerivedMembership": "true"})).json()
    users = {m["email"]: m["status"] for m in derived["members"] if m["type"] == "USER"}
    assert users == {
        "alice@example.com": "ACTIVE",
        "ext@elsewhere.org": "ACTIVE",
        "bob@example.com": "ACTIVE",
        "dave@example.com": "SUSPENDED",
    }
    page = (await admin.get(path, params={"maxResults": "2"})).json()
    assert len(page["members"]) == 2
    following = await admin.get(
        path, params={"maxResults": "2", "pageToken": page["nextPageToken"]}
    )
    assert len(following.json()["members"]) == 1


async def test_an_unknown_group_is_googles_404(admin: httpx.AsyncClient) -> None:
    """members.list of a group that does not exist: 404 Resource Not Found: groupKey."""
    answer = await admin.get("/admin/directory/v1/groups/nope@example.com/members")
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["message"] == "Resource Not Found: groupKey"
    assert error["errors"][0]["reason"] == "notFound"


async def test_the_directory_error_knob_fails_only_directory_calls(
    admin: httpx.AsyncClient,
) -> None:
    """directory_error_rate 1 answers every Directory call 503 and no People call; the calls
    are counted in the statistics by method id."""
    await admin.patch("/__emulator/config", json={"directory_error_rate": 1.0})
    answer = await admin.get("/admin/directory/v1/users", params={"customer": "my_customer"})
    assert answer.status_code == 503
    assert (await admin.get("/v1/contactGroups")).status_code == 200
    await admin.patch("/__emulator/config", json={"directory_error_rate": 0.0})
    await admin.get("/admin/directory/v1/groups/eng@example.com/members")
    stats = (await admin.get("/__emulator/stats")).json()["by_method_status"]
    assert stats[USERS_LIST] == {"503": 1}
    assert stats[MEMBERS_LIST] == {"200": 1}


async def test_seeding_is_validated_and_reset_forgets_the_directory(
    admin: httpx.AsyncClient,
) -> None:
    """Bad seeds are a 400 naming the field; a deleted user leaves its groups; reset empties
    the directory."""
    bad = await admin.put("/__emulator/directory/users/x@example.com", json={"orgUnitPath": "S"})
    assert bad.status_code == 400
    assert "orgUnitPath" in bad.json()["error"]["message"]
    await admin.delete("/__emulator/directory/users/alice@example.com")
    seeded = (await admin.get("/__emulator/directory")).json()
    eng = next(g for g in seeded["groups"] if g["email"] == "eng@example.com")
    assert "alice@example.com" not in eng["members"]
    await admin.post("/__emulator/reset")
    assert (await admin.get("/__emulator/directory")).json()["users"] == []


def test_served_parameters_are_googles() -> None:
    """Every parameter the emulator accepts is one the discovery document declares, and the
    page size bounds are Google's."""
    document: dict[str, Any] = json.loads(DISCOVERY.read_text())
    methods = document["resources"]
    users = methods["users"]["methods"]["list"]
    members = methods["members"]["methods"]["list"]
    assert users["id"] == USERS_LIST
    assert members["id"] == MEMBERS_LIST
    assert set(USERS_PARAMS) <= set(users["parameters"])
    assert (
        users["parameters"]["maxResults"]["minimum"],
        users["parameters"]["maxResults"]["maximum"],
    ) == ("1", "500")
    paths = {route.path for route in ROUTES}  # type: ignore[attr-defined]
    assert "/" + users["path"] in paths
    assert "/" + members["path"] in paths
    assert not set(STANDARD_PARAMS) & set(USERS_PARAMS)


def test_googles_own_client_lists_users_and_members(emulator_server: Any) -> None:
    """google-api-python-client, over HTTP, pages through users.list and members.list."""
    with httpx.Client(base_url=emulator_server.url) as http:
        http.put(f"/__emulator/directory/users/{ADMIN}", json={"isAdmin": True})
        for n in range(7):
            http.put(f"/__emulator/directory/users/u{n}@example.com", json={"orgUnitPath": "/Ops"})
        http.put(
            "/__emulator/directory/groups/ops@example.com",
            json={"members": [f"u{n}@example.com" for n in range(7)]},
        )
    service = build(
        "admin",
        "directory_v1",
        credentials=Credentials(f"user:{ADMIN}"),
        client_options={"api_endpoint": emulator_server.url},
        static_discovery=True,
        cache_discovery=False,
    )
    found: list[str] = []
    request = service.users().list(customer="my_customer", query="orgUnitPath=/Ops", maxResults=3)
    while request is not None:
        response = request.execute()
        found += [u["primaryEmail"] for u in response.get("users", [])]
        request = service.users().list_next(request, response)
    assert found == [f"u{n}@example.com" for n in range(7)]
    members: list[str] = []
    request = service.members().list(groupKey="ops@example.com", maxResults=2)
    while request is not None:
        response = request.execute()
        members += [m["email"] for m in response.get("members", [])]
        request = service.members().list_next(request, response)
    assert sorted(members) == found
