"""``-q``/``-v`` for every command: how much goes to stderr.

Results go to stdout whatever the verbosity. stderr carries, by default, warnings and errors;
``-v`` adds progress (info) logs, ``-vv`` debug logs; ``-q`` leaves errors only (no warnings,
no notes such as "Saved the plan to ..."). The flags are accepted before or after the command
name (``reconciler -v plan`` or ``reconciler plan -v``), and also read ``RECONCILER_VERBOSE``
(a count) and ``RECONCILER_QUIET``.
"""

from __future__ import annotations

import logging
from typing import Any

import click

_KEY = "reconciler.verbosity"


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if not value:
        return
    meta = ctx.find_root().meta
    if param.name == "quiet":
        meta[_KEY] = -1
    elif meta.get(_KEY, 0) >= 0:
        meta[_KEY] = max(meta.get(_KEY, 0), int(value))


def verbosity_options() -> list[click.Option]:
    """Fresh ``-v``/``-q`` parameters (each command gets its own instances)."""
    return [
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_store,
            envvar="RECONCILER_VERBOSE",
            help="Say more on stderr: -v progress logs, -vv debug logs.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_store,
            envvar="RECONCILER_QUIET",
            help="Say nothing on stderr but errors.",
        ),
    ]


def verbosity() -> int:
    """-1 quiet, 0 normal, 1 verbose, 2 debug."""
    context = click.get_current_context(silent=True)
    if context is None:
        return 0
    return int(context.find_root().meta.get(_KEY, 0))


def log_level(normal: int = logging.WARNING) -> int:
    """The structlog level for this run; ``normal`` is the command's own default."""
    return {-1: logging.ERROR, 0: normal, 1: min(normal, logging.INFO)}.get(
        verbosity(), logging.DEBUG
    )


def note(message: str) -> None:
    """An informational line or warning on stderr, unless ``-q``."""
    if verbosity() >= 0:
        click.echo(message, err=True)
