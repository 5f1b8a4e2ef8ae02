"""``reconciler import``: address-book files to manifests, or one live contact adopted.

``reconciler import FILE... --out DIR`` reads Google Contacts CSV, Outlook CSV and vCard files
(the format is recognised from the content, or given with ``--format``) and writes manifests.
Every bad value is reported at ``file:row:column`` and nothing is written while any remains.

``reconciler import people/c123 --name jane-doe`` is Terraform's import: it writes the
manifest of one live contact and stamps that contact as ours under that name, so the next plan
says "No changes" instead of creating a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from reconciler.cli.options import (
    connection_options,
    default_region_option,
    envvar_for,
    option,
    owner_option,
    state_dir_of,
)
from reconciler.cli.verbosity import log_level, note
from reconciler.formats.layout import LAYOUTS

RESOURCE = re.compile(r"^people/[A-Za-z0-9_-]+$")


def _labels(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    labels = {}
    for value in values:
        key, equals, item = value.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE")
        labels[key] = item
    return labels


@click.command("import")
@click.argument("sources", nargs=-1, required=True)
@option(
    "--out",
    envvar=envvar_for("--out", "import"),
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("manifests"),
    show_default=True,
    help="Folder to write the manifests into.",
)
@option(
    "--format",
    "format_",
    envvar=envvar_for("--format", "import"),
    type=click.Choice(["auto", "google-csv", "outlook-csv", "vcard"]),
    default="auto",
    show_default=True,
    help="Format of the files; auto recognises it from the content.",
)
@option(
    "--layout",
    envvar=envvar_for("--layout", "import"),
    type=click.Choice(LAYOUTS),
    default="group",
    show_default=True,
    help="One file per contact group, one per contact, or one for everything.",
)
@option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_labels,
    help="Label to put on every imported contact (repeatable).",
)
@option("--name", default=None, help="Manifest name of the live contact to adopt.")
@option("--force", is_flag=True, help="Write into --out even if it already holds files.")
@default_region_option
@owner_option
@connection_options
def import_(
    sources: tuple[str, ...],
    out: Path,
    format_: str,
    layout: str,
    labels: dict[str, str],
    name: str | None,
    force: bool,
    default_region: str,
    state_dir: str | None,
    state: str | None,
    **connection: Any,
) -> None:
    """Turn Google Contacts CSV, Outlook CSV or vCard FILES into manifests.

    With one live contact's resource name (people/c123) and --name, adopt that contact instead:
    write its manifest and stamp it as managed under that name.
    """
    if len(sources) == 1 and RESOURCE.match(sources[0]):
        if not name:
            raise click.UsageError("adopting a live contact needs --name NAME for its manifest")
        directory = state_dir_of(state_dir, state)
        _adopt(sources[0], name, out, default_region, state_dir=directory, **connection)
        return
    if name:
        raise click.UsageError("--name is for adopting one live contact (people/cNNN)")
    _import_files(sources, out, format_, layout, labels, force, default_region)


def _import_files(
    sources: tuple[str, ...],
    out: Path,
    format_: str,
    layout: str,
    labels: dict[str, str],
    force: bool,
    default_region: str,
) -> None:
    from reconciler.cli.writing import refuse_non_empty, write_tree
    from reconciler.formats import Parsed, lay_out, read, to_manifests
    from reconciler.manifest.errors import Location

    refuse_non_empty(out, force)
    parsed: list[Parsed] = []
    for source in sources:
        path = Path(source)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise click.UsageError(f"cannot read {source}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            failed = Parsed()
            failed.error(
                Location(source, 1, 1),
                f"not UTF-8 text (byte {exc.start})",
                "save or export the file as UTF-8",
            )
            parsed.append(failed)
            continue
        parsed.append(read(text, source, None if format_ == "auto" else format_))
    result = to_manifests(parsed, default_region=default_region, labels=labels)
    for warning in result.warnings:
        note(f"warning: {warning}")
    if not result.ok:
        for error in result.errors:
            click.echo(str(error), err=True)
        count = len(result.errors)
        raise click.ClickException(
            f"{count} error{'' if count == 1 else 's'} in the input: nothing was written"
        )
    files = lay_out(result.contacts, result.groups, layout)  # type: ignore[arg-type]
    written = write_tree(out, files, default_region=default_region)
    click.echo(
        f"imported {len(result.contacts)} contacts and {len(result.groups)} groups "
        f"into {len(written)} files under {out}"
    )


def _adopt(resource: str, name: str, out: Path, default_region: str, **connection: Any) -> None:
    from reconciler.controller.logs import configure_logging
    from reconciler.formats.layout import SCHEMA_FILE
    from reconciler.manifest.dumper import dump_resources
    from reconciler.manifest.json_schema import render_schema
    from reconciler.manifest.resources import NAME_PATTERN

    if re.fullmatch(NAME_PATTERN, name) is None:
        raise click.BadParameter(
            f"{name!r} is not a manifest name: use lowercase letters, digits, '-' and '.'",
            param_hint="--name",
        )
    target = out / "contacts" / f"{name}.yaml"
    if target.exists():
        raise click.UsageError(f"{target} exists; choose another --name or --out")
    configure_logging("console", level=log_level())
    contact, warnings = asyncio.run(
        adopt(resource, name, default_region=default_region, **connection)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dump_resources([contact], schema=f"../{SCHEMA_FILE}"), encoding="utf-8")
    if not (out / SCHEMA_FILE).exists():
        (out / SCHEMA_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out / SCHEMA_FILE).write_text(render_schema(), encoding="utf-8")
    for warning in warnings:
        note(f"warning: {warning}")
    if contact.spec.groups:
        note(
            f"note: {name} is in groups {', '.join(contact.spec.groups)}: keep a ContactGroup "
            "manifest for each of them beside it"
        )
    click.echo(f"adopted {resource} as {name}: wrote {target}")


async def adopt(
    resource: str,
    name: str,
    *,
    default_region: str,
    owner: str,
    state_dir: Any,
    app: Any = None,
    **connection: Any,
) -> tuple[Any, list[str]]:
    """Read one live contact and stamp it as ``name``, holding the address book's write lease
    as apply does; its manifest resource and warnings."""
    from reconciler.cli.export import READ_FIELDS
    from reconciler.manifest.convert import export as convert
    from reconciler.model.stamps import Stamp, foreign_entries, is_lease_group, read_stamp
    from reconciler.people import connect

    async with (
        connect(app=app, state=state_dir.embedded_state, **connection) as client,
        _lease(client, state_dir, connection["target"], owner),
    ):
        person = await client.get_person(resource, READ_FIELDS)
        stamp = read_stamp(person.get("clientData"))
        if stamp is not None and (stamp.owner != owner or stamp.name != name):
            raise click.ClickException(
                f"{resource} is already managed by owner {stamp.owner!r} as {stamp.name!r}; "
                "adopt only contacts no controller manages"
            )
        groups = [g for g in await client.list_groups() if not is_lease_group(g)]
        converted = convert([person], groups, default_region=default_region)
        contact = replace(converted.contacts[0], name=name, annotations={})
        mine = Stamp(owner, name, frozenset(contact.spec.person_fields()), True)
        await client.update_contact(
            {
                "resourceName": resource,
                "etag": person.get("etag"),
                "clientData": foreign_entries(person.get("clientData")) + mine.entries(),
            },
            "clientData",
        )
    return contact, converted.warnings


@contextlib.asynccontextmanager
async def _lease(client: Any, state_dir: Any, target: str, owner: str) -> AsyncIterator[None]:
    """The address book's write lease for the adopting write (one writer at a time)."""
    from reconciler.apply.lease import LeaseError, claim

    lease = claim(
        client, state_dir, target=target, account=client.account, owner=owner, command="import"
    )
    try:
        async with lease.held():
            yield
    except LeaseError as error:
        raise click.ClickException(str(error)) from None
