"""Roomy per-user budgets, for the tests that start ``run`` or ``apply`` but do not test pacing.

The client paces each account to Google's default per-user quotas, in real time: a second batch
create waits ~4.3 s for its 6 write units at 90 a minute, and polls every 300 ms outrun 180 reads
a minute. Tests of anything else start the controller or apply with these budgets, as an
operator whose project's quotas were raised would (``--user-*-per-minute``); the project budgets
keep their defaults, since the poll schedule is derived from them. The tests of pacing and quotas
(``tests/people/test_*pacing*.py``, the ``--quotas`` emulator) keep the real defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.cli.budgets import BUDGETS, budget_flag
from reconciler.people.pacing import PacingConfig
from reconciler.people.transport import ClientConfig

ROOMY = 1_000_000.0
"""Units a minute of every quota: more than any test's calls, so no call ever waits."""

ROOMY_PACING = PacingConfig.of(per_user=dict.fromkeys(PacingConfig().per_user(), ROOMY))
"""Roomy per account; the project's budgets at their defaults (``RunSettings(pacing=...)``)."""

ROOMY_FLAGS = tuple(f"{budget_flag('user', kind)}={ROOMY:.0f}" for kind, _ in BUDGETS)
"""The same, as the flags of ``reconciler run`` and ``reconciler apply``."""

UNPACED = ClientConfig(pacing=PacingConfig.uniform(ROOMY))
"""A client's configuration with no budget at all, per account or per project: the server's
quota, if any, decides."""


def roomy(args: Sequence[str]) -> list[str]:
    """A ``reconciler`` command line with the roomy per-user budgets after its ``run`` or
    ``apply`` (later flags still win, so a test may set its own); any other command as given."""
    command, *rest = args
    return [command, *ROOMY_FLAGS, *rest] if command in {"run", "apply"} else [*args]
