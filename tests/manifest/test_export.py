"""``reconciler export`` writes the live address book as manifests that validate.

Live data comes from the real emulator (in process), seeded through the real client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner
from starlette.applications import Starlette

from reconciler.cli import main
from reconciler.cli.export import read_live
from reconciler.manifest import load
from reconciler.manifest.convert import export, slug
from reconciler.manifest.dumper import write_manifests
from reconciler.people import connect

NO_AUTH: dict[str, Any] = {"token": None, "state": None, "subject": None, "credentials": None}


async def seed(**connection: Any) -> None:
    """A group, a contact in it, a contact another controller manages, one with no email."""
    async with connect(**connection) as client:
        group = await client.create_group("Sales Team")
        results = await client.batch_create(
            [
                {
                    "names": [{"givenName": "María", "familyName": "García"}],
                    "emailAddresses": [{"value": "maria@example.com", "type": "work"}],
                    "phoneNumbers": [{"value": "+1 650 555 0100", "type": "mobile"}],
                    "birthdays": [{"date": {"month": 2, "day": 29}}],
                    "organizations": [{"name": "Example Corp", "title": "CEO"}],
                    "memberships": [
                        {
                            "contactGroupMembership": {
                                "contactGroupResourceName": group["resourceName"]
                            }
                        }
                    ],
                },
                {
                    "names": [{"givenName": "Stamped"}],
                    "emailAddresses": [{"value": "stamped@example.org"}],
                    "clientData": [
                        {"key": "reconciler.owner", "value": "someone"},
                        {"key": "reconciler.name", "value": "kept-name"},
                        {"key": "reconciler.prune", "value": "false"},
                    ],
                },
                {"names": [{"givenName": "No", "familyName": "Email"}]},
            ]
        )
        assert all(result.error is None for result in results)


async def test_export_reads_the_emulator_and_writes_valid_manifests(
    emulator_app: Starlette, tmp_path: Path
) -> None:
    """Output-only fields are dropped, memberships become groups, stamps become names."""
    await seed(target="embedded", app=emulator_app)
    result = await read_live(default_region="US", app=emulator_app, target="embedded", **NO_AUTH)
    write_manifests(tmp_path, result.contacts, result.groups)
    loaded = load([tmp_path])
    assert loaded.ok, [str(e) for e in loaded.errors]
    assert [g.name for g in loaded.groups] == ["sales-team"]
    assert loaded.groups[0].spec.name == "Sales Team"
    contacts = {c.name: c for c in loaded.contacts}
    assert sorted(contacts) == ["kept-name", "maria-garcia", "no-email"]
    maria = contacts["maria-garcia"]
    assert maria.spec.groups == ["sales-team"]
    assert maria.annotations == {"reconciler/adopt": "email"}
    assert maria.spec.person_fields() == {
        "names": [{"givenName": "María", "familyName": "García"}],
        "emailAddresses": [{"value": "maria@example.com", "type": "work"}],
        "phoneNumbers": [{"value": "+1 650 555 0100", "type": "mobile"}],
        "organizations": [{"name": "Example Corp", "title": "CEO"}],
        "birthdays": [{"date": {"month": 2, "day": 29}}],
    }
    assert contacts["kept-name"].annotations == {"reconciler/prune": "false"}
    assert result.warnings == [
        "group sales-team: no controller manages the live group yet, and plan refuses to create "
        "a group under the name of one it does not manage; delete or rename the live group "
        "before the first apply (its members keep their other groups)",
        "no-email: no email address to adopt it by; applying will create a new contact next "
        "to the existing one",
    ]


def test_entries_the_loader_would_refuse_are_left_out_with_a_warning() -> None:
    """An export always validates: bad entries are dropped and named, values never shown."""
    person = {
        "resourceName": "people/c1",
        "names": [
            {"givenName": "Ann", "displayName": "Ann", "metadata": {"source": {"type": "CONTACT"}}},
            {"givenName": "Ann (profile)", "metadata": {"source": {"type": "PROFILE"}}},
        ],
        "emailAddresses": [{"value": "not an email"}, {"value": "ann@example.com"}],
        "phoneNumbers": [{"value": "12", "canonicalForm": "+12", "formattedType": "Mobile"}],
    }
    result = export([person], [])
    [contact] = result.contacts
    assert contact.name == "ann"
    assert contact.spec.person_fields() == {
        "names": [{"givenName": "Ann"}],
        "emailAddresses": [{"value": "ann@example.com"}],
    }
    assert result.warnings == [
        "ann: left out emailAddresses[0] (email)",
        "ann: left out phoneNumbers[0] (phone_number)",
    ]
    assert all("not an email" not in w for w in result.warnings)


def test_names_are_unique_and_valid() -> None:
    """Two people with the same name get distinct manifest names; odd names are slugged."""
    people = [{"names": [{"givenName": "Jo"}]}, {"names": [{"givenName": "Jo"}]}, {}]
    assert [c.name for c in export(people, []).contacts] == ["jo", "jo-2", "contact"]
    assert slug("  Dr. Zoë O'Brien-Smith ") == "dr-zoe-o-brien-smith"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The command configures structlog for the process; put it back for the next tests."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.usefixtures("restore_logging")
def test_the_cli_exports_the_embedded_address_book(tmp_path: Path) -> None:
    """`reconciler export --state FILE --out DIR` writes files that `validate` accepts."""
    state = tmp_path / "state.sqlite3"
    asyncio.run(seed(target="embedded", state=state))
    out = tmp_path / "exported"
    runner = CliRunner()
    result = runner.invoke(main, ["export", "--state", str(state), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"exported 3 contacts and 1 groups into 4 files under {out}\n"
    assert sorted(p.name for p in (out / "contacts").iterdir()) == [
        "kept-name.yaml",
        "maria-garcia.yaml",
        "no-email.yaml",
    ]
    assert runner.invoke(main, ["validate", str(out)]).exit_code == 0
    again = runner.invoke(main, ["export", "--state", str(state), "--out", str(out)])
    assert again.exit_code == 2
    assert "is not empty" in again.stderr


@pytest.mark.usefixtures("restore_logging")
def test_exporting_what_was_applied_plans_no_changes(tmp_path: Path) -> None:
    """apply manifests/ -> export -> plan the export: the export describes the live state."""
    examples = Path(__file__).resolve().parents[2] / "manifests"
    state = str(tmp_path / "state.sqlite3")
    runner = CliRunner()
    applied = runner.invoke(main, ["apply", str(examples), "--state", state, "--auto-approve"])
    assert applied.exit_code == 0, applied.output
    out = tmp_path / "exported"
    exported = runner.invoke(main, ["export", "--state", state, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert exported.stderr == ""
    planned = runner.invoke(main, ["plan", str(out), "--state", state])
    assert planned.exit_code == 0, planned.output
    assert "No changes." in planned.stdout
