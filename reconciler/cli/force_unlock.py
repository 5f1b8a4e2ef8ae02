"""``reconciler force-unlock LEASE_ID``: break a write lease whose holder is gone.

An address book's lease (:mod:`reconciler.apply.lease`) lapses by itself two minutes after its
holder stops renewing it; this is for when waiting is not an option and the holder is known to
be gone (a cancelled CI job on another machine). Naming the lease id, as the refusal printed it,
makes sure it breaks that lease and not one a live run has taken since.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from reconciler.cli.options import connection_options, state_dir_of


@click.command("force-unlock")
@click.argument("lease_id")
@connection_options
def force_unlock(
    lease_id: str, state_dir: str | None, state: str | None, **connection: Any
) -> None:
    """Break the address book's write lease LEASE_ID, whose holder is gone.

    LEASE_ID is the id an apply or run printed when it refused to write ("leased to ... (lease
    ID)"). Only that lease is broken: if another run holds the lease now, nothing changes.
    Breaking a lease whose holder is still writing lets two writers at one address book.
    """
    from reconciler.apply.lease_record import break_lease
    from reconciler.people.errors import PeopleError

    embedded = state_dir_of(state_dir, state).embedded_state
    try:
        message = asyncio.run(break_lease(lease_id, state=embedded, **connection))
    except (LookupError, PeopleError) as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    click.echo(message)
