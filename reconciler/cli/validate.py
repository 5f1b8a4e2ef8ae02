"""``reconciler validate [PATH..]``: check manifests without touching any API.

Made for pre-commit hooks and CI: every error goes to stderr as ``path:line:col: message`` with
a hint, and the exit code says whether the tree is usable (0) or not (1). ``--output json``
prints one JSON object with the counts and every error for machines.
"""

from __future__ import annotations

import json
import sys

import click

from reconciler.cli.options import option
from reconciler.manifest import load
from reconciler.manifest.fields import DEFAULT_REGION, check_region


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Human-readable lines, or one JSON object on stdout.",
)
@option(
    "--default-region",
    default=DEFAULT_REGION,
    show_default=True,
    metavar="CC",
    callback=lambda _ctx, _param, value: _region(value),
    help="ISO country code used to read phone numbers written without +country.",
)
def validate(paths: tuple[str, ...], output: str, default_region: str) -> None:
    """Load and validate manifests (default: manifests/); exit 1 if any is invalid."""
    result = load(list(paths) or ["manifests"], default_region=default_region)
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


def _region(value: str) -> str:
    try:
        return check_region(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
