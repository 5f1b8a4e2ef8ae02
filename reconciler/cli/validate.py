"""``reconciler validate [PATH..]``: check manifests without touching any API.

Made for pre-commit hooks and CI: every error goes to stderr as ``path:line:col: message`` with
a hint, and the exit code says whether the tree is usable (0) or not (1). ``--output json``
prints one JSON object with the counts and every error for machines.
"""

from __future__ import annotations

import json
import sys

import click

from reconciler.cli.options import default_region_option, output_option
from reconciler.manifest import DEFAULT_PATH, load


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@output_option(
    "text", "json", help="Human-readable lines, or one JSON object on stdout.", command="validate"
)
@default_region_option
def validate(paths: tuple[str, ...], output: str, default_region: str) -> None:
    """Load and validate manifests (default: the current directory); exit 1 if any is invalid.

    Helm charts and what .reconcilerignore lists are left out of folders (see the README).
    """
    result = load(list(paths) or [DEFAULT_PATH], default_region=default_region)
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "contacts": len(result.contacts),
                    "groups": len(result.groups),
                    "files": result.files,
                    "errors": [error.to_json() for error in result.errors],
                },
                indent=2,
            )
        )
    else:
        for error in result.errors:
            click.echo(str(error), err=True)
        if result.ok:
            click.echo(f"valid: {result.summary()}")
        else:
            count = len(result.errors)
            click.echo(
                f"invalid: {count} error{'' if count == 1 else 's'} in {result.summary()}", err=True
            )
    sys.exit(0 if result.ok else 1)
