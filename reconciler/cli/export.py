"""``reconciler export``: write the live address book as manifests, Google CSV or vCard.

The way to onboard an existing address book: export, review, commit, then plan and apply.
Contacts no controller has stamped yet are marked for adoption by email, so that first apply
takes them over instead of creating duplicates. Labels come back from the stamp, so an export
of what an apply wrote gives the manifests again. Anything that could not be carried over is
reported on stderr by contact name and field, never by value.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from reconciler.cli.options import (
    connection_options,
    default_region_option,
    envvar_for,
    option,
    selector_option,
    state_dir_of,
)
from reconciler.cli.verbosity import log_level, note
from reconciler.formats.layout import LAYOUTS

# Every writable Person field a manifest can hold, plus what export needs to read them right.
READ_FIELDS = (
    "addresses,biographies,birthdays,calendarUrls,clientData,emailAddresses,events,externalIds,"
    "genders,imClients,interests,locales,locations,memberships,metadata,miscKeywords,names,"
    "nicknames,occupations,organizations,phoneNumbers,relations,sipAddresses,urls,userDefined"
)
FORMATS = ("yaml", "google-csv", "vcard")


@click.command()
@option(
    "--format",
    "format_",
    envvar=envvar_for("--format", "export"),
    type=click.Choice(FORMATS),
    default="yaml",
    show_default=True,
    help="Manifests (a folder), Google Contacts CSV or vCard 3.0 (a file).",
)
@option(
    "--out",
    envvar=envvar_for("--out", "export"),
    type=click.Path(path_type=Path),
    default=None,
    help="yaml: the folder to write into [default: manifests]; google-csv and vcard: the file "
    "[default: standard output].",
)
@option(
    "--layout",
    envvar=envvar_for("--layout", "export"),
    type=click.Choice(LAYOUTS),
    default="contact",
    show_default=True,
    help="yaml: one file per contact, per group, or one file for everything.",
)
@option("--force", is_flag=True, help="Write into --out even if it already holds files.")
@selector_option
@default_region_option
@connection_options
def export(
    format_: str,
    out: Path | None,
    layout: str,
    force: bool,
    selector: Any,
    default_region: str,
    state_dir: str | None,
    state: str | None,
    **connection: Any,
) -> None:
    """Write every live contact and contact group as manifests, Google CSV or vCard."""
    from reconciler.cli.writing import refuse_non_empty, write_tree

    if format_ == "yaml":
        out = out or Path("manifests")
        refuse_non_empty(out, force)
    elif out is not None and out.exists() and not force:
        raise click.UsageError(f"{out} exists; choose another --out or pass --force")
    from reconciler.controller.logs import configure_logging

    configure_logging("console", level=log_level())  # stdout is for the summary
    embedded = state_dir_of(state_dir, state).embedded_state
    result = asyncio.run(read_live(default_region=default_region, state=embedded, **connection))
    contacts, groups = select(result.contacts, result.groups, selector)
    warnings = list(result.warnings)
    if format_ == "yaml":
        from reconciler.formats import lay_out

        assert out is not None
        files = lay_out(contacts, groups, layout)  # type: ignore[arg-type]
        written = write_tree(out, files, default_region=default_region)
        where = f"into {len(written)} files under {out}"
    else:
        from reconciler.formats import write

        rendered = write(format_, contacts, groups)
        warnings += rendered.warnings
        if out is None:
            click.echo(rendered.text, nl=False)
        else:
            out.write_text(rendered.text, encoding="utf-8", newline="")
        where = f"as {format_} to {out or 'standard output'}"
    for warning in warnings:
        note(f"warning: {warning}")
    summary = f"exported {len(contacts)} contacts and {len(groups)} groups {where}"
    if format_ == "yaml":
        click.echo(summary)
    else:
        note(summary)  # stdout may be the file itself


def select(contacts: list[Any], groups: list[Any], selector: Any) -> tuple[list[Any], list[Any]]:
    """The contacts a selector matches, and the groups they are in (everything without one)."""
    if selector is None:
        return contacts, groups
    chosen = [contact for contact in contacts if selector.matches(contact.labels)]
    used = {group for contact in chosen for group in contact.spec.groups}
    return chosen, [group for group in groups if group.name in used]


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
