"""The quota budget flags of ``run`` and ``apply``, from one table.

Google meters each People API quota per user and per project, and a project's owner may raise
either limit on the Cloud console's Quotas page; the client paces itself to budgets that must
match (:mod:`reconciler.people.pacing`). So each paced quota has a per-user flag,
``--user-{kind}s-per-minute`` (every account on its own), and, on ``run``, a per-project flag,
``--project-{kind}s-per-minute`` (every account of the replica together). Their defaults are
:class:`~reconciler.people.pacing.PacingConfig`'s, and :func:`pacing_of` turns what was given
back into one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from reconciler.cli.options import F, option
from reconciler.model.quotas import (
    CRITICAL_READS,
    CRITICAL_WRITES,
    GROUP_READS,
    GROUP_WRITES,
    Quota,
    dearest,
)
from reconciler.people.pacing import PacingConfig

__all__ = ["BUDGETS", "budget_flag", "budget_options", "pacing_of"]

BUDGETS: tuple[tuple[str, Quota], ...] = (
    ("read", CRITICAL_READS),
    ("write", CRITICAL_WRITES),
    ("group-read", GROUP_READS),
    ("group-write", GROUP_WRITES),
)
"""Each paced quota of the People API, by the word its flags use."""

_WHOSE = {
    "user": "the per-user quota '{}' gives each account on its own",
    "project": "the project's quota '{}' gives all accounts of this replica together (divide it "
    "by the replicas)",
}


def budget_flag(scope: str, kind: str) -> str:
    """``--{scope}-{kind}s-per-minute``: ``scope`` is ``user`` or ``project``."""
    return f"--{scope}-{kind}s-per-minute"


def _param(scope: str, kind: str) -> str:
    return budget_flag(scope, kind).lstrip("-").replace("-", "_")


def _at_least_one_call(quota: Quota) -> Callable[[click.Context, click.Parameter, float], float]:
    """A budget below the units of the dearest call it paces would hold that call forever."""
    units, method = dearest(quota)

    def check(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
        if value < units:
            raise click.BadParameter(
                f"{value:g} is below the {units} units one {method} costs, so no minute could "
                f"carry that call: give at least {units}"
            )
        return value

    return check


def _budget_option(scope: str, kind: str, quota: Quota, default: float) -> Callable[[F], F]:
    return option(
        budget_flag(scope, kind),
        type=click.FloatRange(min=0, min_open=True),
        default=default,
        show_default=True,
        callback=_at_least_one_call(quota),
        help=f"Units a minute that {_WHOSE[scope].format(quota.display)}: its limit on the "
        "Cloud console's Quotas page. What each call costs: docs/people-api.md, section Errors "
        "and quotas.",
    )


def budget_options(*, project: bool) -> Callable[[F], F]:
    """The per-user budget flags, and with ``project`` the per-project ones, in that order."""
    defaults = PacingConfig()
    per_user, per_project = defaults.per_user(), defaults.per_project()

    def decorate(command: F) -> F:
        for kind, quota in reversed(BUDGETS):
            if project:
                command = _budget_option("project", kind, quota, per_project[quota])(command)
        for kind, quota in reversed(BUDGETS):
            command = _budget_option("user", kind, quota, per_user[quota])(command)
        return command

    return decorate


def pacing_of(params: Mapping[str, Any]) -> PacingConfig:
    """The pacing the budget flags among a command's ``params`` ask for (the defaults for the
    budgets the command has no flag for)."""
    return PacingConfig.of(
        per_user={quota: params[_param("user", kind)] for kind, quota in BUDGETS},
        per_project={
            quota: params[_param("project", kind)]
            for kind, quota in BUDGETS
            if _param("project", kind) in params
        },
    )
