"""``reconciler export``: write the live address book as manifests.

The way to onboard an existing address book: export, review, commit, then plan and apply.
Contacts no controller has stamped yet are marked for adoption by email, so that first apply
takes them over instead of creating duplicates. Anything that could not be carried over is
reported on stderr by contact name and field, never by value.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import click

from reconciler.cli.options import (
    connection_options,
    default_region_option,
    option,
    state_dir_of,
)

# Every writable Person field a manifest can hold, plus what export needs to read them right.
READ_FIELDS = (
    "addresses,biographies,birthdays,calendarUrls,clientData,emailAddresses,events,externalIds,"
    "genders,imClients,interests,locales,locations,memberships,metadata,miscKeywords,names,"
    "nicknames,occupations,organizations,phoneNumbers,relations,sipAddresses,urls,userDefined"
)


@click.command()
@option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("manifests"),
    show_default=True,
    help="Folder to write groups.yaml and contacts/<name>.yaml into.",
)
@option("--force", is_flag=True, help="Write into --out even if it already holds files.")
@default_region_option
@connection_options
def export(
    out: Path,
    force: bool,
    default_region: str,
    state_dir: str | None,
    state: str | None,
    **connection: Any,
) -> None:
    """Write every live contact and contact group as manifests."""
    if out.exists() and any(out.iterdir()) and not force:
        raise click.UsageError(f"{out} is not empty; choose another --out or pass --force")
    from reconciler.controller.logs import configure_logging

    configure_logging("console", level=logging.WARNING)  # stdout is for the summary
    embedded = state_dir_of(state_dir, state).embedded_state
    result = asyncio.run(read_live(default_region=default_region, state=embedded, **connection))
    from reconciler.manifest.dumper import write_manifests

    written = write_manifests(out, result.contacts, result.groups)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"exported {len(result.contacts)} contacts and {len(result.groups)} groups "
        f"into {len(written)} files under {out}"
    )


async def read_live(*, default_region: str, app: Any = None, **connection: Any) -> Any:
    """List the live address book and convert it (``app``: an emulator app, for tests)."""
    from reconciler.manifest.convert import export as convert
    from reconciler.model.stamps import is_lease_group
    from reconciler.people import connect

    async with connect(app=app, **connection) as client:
        listing = await client.list_people(READ_FIELDS)
        # The write lease (reconciler.apply.lease) is the tool's, not anyone's label.
        groups = [g for g in await client.list_groups() if not is_lease_group(g)]
    return convert(listing.people, groups, default_region=default_region)
