"""What the commands that talk to an address book share: where it is, and how they speak.

``plan`` and ``apply`` (and what comes after them) load the manifests before any connection is
made, print located errors to stderr, keep stdout for results, and end with one of a few exit
codes. Those choices live here once, so every command makes them the same way.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click
import structlog

from reconciler.apply.journal import CreateJournal
from reconciler.model import DesiredState
from reconciler.statedir import StateDir

if TYPE_CHECKING:
    from reconciler.apply.lease import Lease
    from reconciler.apply.lease_record import LeaseClient
    from reconciler.clock import Clock
    from reconciler.plan import Binding

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_LEFT = 0, 1, 2, 2


@dataclass(frozen=True)
class Target:
    """Where the address book is, and whose it is."""

    target: str = "embedded"
    token: str | None = None
    owner: str = "reconciler"
    subject: str | None = None  # the user to act as (domain-wide delegation)
    credentials: str | None = None  # a Google credentials file
    state_dir: StateDir = field(default_factory=StateDir.at)

    @property
    def state(self) -> str:
        """The embedded emulator's state file."""
        return str(self.state_dir.embedded_state)

    def lease(self, client: LeaseClient, account: str, command: str) -> Lease:
        """The address book's write lease, claimed for ``command``."""
        from reconciler.apply.lease import claim

        return claim(
            client, self.state_dir, target=self.target, account=account, owner=self.owner,
            command=command,
        )  # fmt: skip

    @property
    def endpoint(self) -> str:
        """The target as a saved plan records it: the embedded state file, a URL or google."""
        return self.state_dir.target_key(self.target.rstrip("/"))

    def binding(self, account: str, revision: str | None = None) -> Binding:
        """Where a plan made now is made (``account`` from the API, never a credential)."""
        from reconciler.plan import Binding

        return Binding(self.endpoint, account, self.owner, revision)

    def journal(
        self, account: str, *, readonly: bool = False, clock: Clock | None = None
    ) -> CreateJournal:
        """The account's create journal; ``clock`` is the apply's (its entries' times are
        compared with the engine's)."""
        path = self.state_dir.journal(target=self.target, account=account, owner=self.owner)
        return CreateJournal(path, readonly=readonly, clock=clock)


def quiet_logs(level: int = logging.WARNING) -> None:
    """Logs from ``level`` up to stderr, as structured key=value lines; stdout is for results."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.KeyValueRenderer(key_order=["level", "event"], sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def err(message: str) -> None:
    click.echo(message, err=True)


def load_desired(paths: Sequence[str], default_region: str) -> DesiredState | None:
    """Load and validate every manifest; print each located error and return None on any."""
    from reconciler.manifest import DEFAULT_PATH, load

    loaded = load(list(paths) or [DEFAULT_PATH], default_region=default_region)
    if loaded.errors:
        for error in loaded.errors:
            err(str(error))
        err(f"{len(loaded.errors)} error(s) in the manifests: nothing was sent to the API.")
        return None
    return DesiredState(
        contacts=loaded.contacts,
        groups=loaded.groups,
        complete=loaded.ok,
        revision=loaded.revision or None,
        fingerprint=loaded.fingerprint or None,
    )
