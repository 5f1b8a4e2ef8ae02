"""Seeding the emulator's Directory (users, groups) through its admin surface, and reading back
which address books hold what, for tests of accounts chosen by the Directory."""

from __future__ import annotations

from typing import Any

import httpx

ADMIN = "admin@example.com"


def seed_user(http: httpx.Client, email: str, unit: str = "/", **fields: Any) -> None:
    """Create or replace a Directory user in the organisational unit ``unit``."""
    body = {"orgUnitPath": unit, **fields}
    http.put(f"/__emulator/directory/users/{email}", json=body).raise_for_status()


def seed_admin(http: httpx.Client, email: str = ADMIN) -> None:
    """The admin the controller asks the Directory as."""
    seed_user(http, email, "/IT", isAdmin=True)


def seed_group(http: httpx.Client, email: str, members: list[str]) -> None:
    """Create or replace a group with these member addresses (a group's address nests it)."""
    http.put(f"/__emulator/directory/groups/{email}", json={"members": members}).raise_for_status()


def given_names_by_user(http: httpx.Client) -> dict[str, list[str]]:
    """Every address book that holds contacts: user -> sorted given names."""
    users = http.get("/__emulator/dump").json()["users"]
    return {
        user: sorted(p["names"][0]["givenName"] for p in book["people"])
        for user, book in users.items()
        if book["people"]
    }
