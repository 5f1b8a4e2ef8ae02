"""``reconciler status``: a running controller's accounts, as a table or as JSON.

Made for people at a terminal and for scripts alike (like ``flux get``): the exit code says
whether everything is in sync (0), something is not (2: an account, or a directory entry whose
refresh fails), or the controller could not be read (1), so a deploy pipeline can wait on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from reconciler.cli.options import option, output_option
from reconciler.controller.conditions import short_revision

SETTLED = ("InSync", "Suspended")


def _rows(accounts: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = [["ACCOUNT", "STATE", "REVISION", "CONTACTS", "OUT OF SYNC", "CONFLICTS", "MESSAGE"]]
    for account in accounts:
        counts = account["counts"]
        rows.append(
            [
                account["name"],
                account["state"],
                short_revision(account["revision"]),
                str(counts["total"]),
                str(counts["outOfSync"]),
                str(counts["conflicts"]),
                account["message"],
            ]
        )
    return rows


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    )


@click.command()
@option(
    "--controller",
    default="http://127.0.0.1:8081",
    show_default=True,
    metavar="URL",
    help="The controller's health address (where /healthz and /status are served).",
)
@option("--account", default=None, help="Only this account (its label, as /status names it).")
@output_option(
    "table", "json", help="A table for people, or the /status JSON for programs.", command="status"
)
def status(controller: str, account: str | None, output: str) -> None:
    """Show a running controller's accounts; exit 0 all in sync, 2 not, 1 unreachable."""
    from reconciler.remote.controller import StatusUnavailable, fetch_status

    try:
        data = fetch_status(controller, account)
    except StatusUnavailable as error:
        click.echo(f"error: {error}", err=True)
        click.echo(
            "  hint: is `reconciler run` running, and is --controller its --health-addr?", err=True
        )
        sys.exit(1)
    accounts = [data] if account else data.get("accounts", [])
    directory = [] if account else data.get("directory", [])
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif accounts:
        click.echo(_table(_rows(accounts)))
    else:
        click.echo("No account belongs to this controller.")
    if output != "json" and directory:
        click.echo("")
        click.echo(_table(_directory_rows(directory)))
    settled = all(a["state"] in SETTLED for a in accounts) and all(d["ok"] for d in directory)
    sys.exit(0 if settled else 2)


def _directory_rows(entries: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The directory entries: a failing one may leave users it should select unreconciled."""
    rows = [["DIRECTORY", "USERS", "REFRESH", "SELECTION"]]
    for entry in entries:
        users = "-" if entry["users"] is None else str(entry["users"])
        failing = f"failing since {entry['failingSince']}: {entry['error']}"
        state = "ok" if entry["ok"] else failing if entry["failingSince"] else "no answer yet"
        rows.append([entry["name"], users, state, entry["selection"]])
    return rows
