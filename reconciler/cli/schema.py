"""``reconciler schema [--out FILE]``: write the JSON Schema of manifests.

Point an editor at it (``# yaml-language-server: $schema=...``) to get validation and
completion while typing; the copy committed at ``schema/reconciler-v1.json`` is this output.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.options import envvar_for, option
from reconciler.manifest.json_schema import render_schema


@click.command()
@option(
    "--out",
    envvar=envvar_for("--out", "schema"),
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the schema to this file instead of stdout.",
)
def schema(out: Path | None) -> None:
    """Write the JSON Schema of Contact and ContactGroup manifests."""
    text = render_schema()
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
