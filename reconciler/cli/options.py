"""Options shared by several commands.

Every flag can be set from the environment as ``RECONCILER_<FLAG>`` (dashes become
underscores): ``--target`` is ``RECONCILER_TARGET``, ``--resync-interval`` is
``RECONCILER_RESYNC_INTERVAL``. Use :func:`option` instead of ``click.option`` so that the rule
holds for every command without anyone having to remember it. One variable means one thing
everywhere: a flag whose value differs by command (``--out``, ``--output``, ``--format``) names
its command, ``RECONCILER_PLAN_OUT`` (see :func:`envvar_for`); a test holds every command to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

ENV_PREFIX = "RECONCILER_"
DEFAULT_STATE = ".reconciler/embedded.sqlite3"


def envvar_for(flag: str, command: str | None = None) -> str:
    """``--resync-interval`` -> ``RECONCILER_RESYNC_INTERVAL``.

    A flag whose value means something different in each command (``--out``: a plan file, an
    export folder...) names its ``command``: ``--out`` of export is ``RECONCILER_EXPORT_OUT``,
    so that one variable never means two things.
    """
    scope = f"{command.upper()}_" if command else ""
    return ENV_PREFIX + scope + flag.lstrip("-").replace("-", "_").upper()


def option(*param_decls: str, **attrs: Any) -> Callable[[F], F]:
    """``click.option`` with the ``RECONCILER_<FLAG>`` environment variable filled in."""
    long_flags = [d.split("/")[0] for d in param_decls if d.startswith("--")]
    if long_flags and "envvar" not in attrs:
        attrs["envvar"] = envvar_for(max(long_flags, key=len))
    if "envvar" in attrs:
        attrs.setdefault("show_envvar", True)
    return click.option(*param_decls, **attrs)


target_option = option(
    "--target",
    default="embedded",
    show_default=True,
    metavar="embedded|google|http://HOST:PORT",
    help=(
        "Where the People API is: the in-process emulator (state kept in --state), the real "
        "Google API, or an emulator or People-compatible endpoint at a URL."
    ),
)
token_option = option(
    "--token",
    default=None,
    help="Bearer token for an http target (for the emulator, 'user:<email>' picks the user).",
)
state_option = option(
    "--state",
    default=DEFAULT_STATE,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="State file of the embedded emulator.",
)
owner_option = option(
    "--owner",
    default="reconciler",
    show_default=True,
    help="Owner id stamped on every contact this controller manages; two repos never share one.",
)


def output_option(*formats: str, help: str, command: str) -> Callable[[F], F]:
    """``--output``/``-o``: one of ``formats``, the first being the default.

    Each command has its own formats, so each reads its own variable
    (``RECONCILER_PLAN_OUTPUT``...): a plan format set for CI never reaches ``validate``.
    """
    return option(
        "--output",
        "-o",
        envvar=envvar_for("--output", command),
        type=click.Choice(list(formats)),
        default=formats[0],
        show_default=True,
        help=help,
    )


subject_option = option(
    "--subject",
    default=None,
    metavar="EMAIL",
    help=(
        "User to act as with a service-account key and domain-wide delegation (--target google)."
    ),
)
credentials_option = option(
    "--credentials",
    type=click.Path(dir_okay=False),
    default=None,
    help="Google credentials file (service account key or authorized user) for --target google.",
)


def _region(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from reconciler.manifest.fields import check_region

    try:
        return check_region(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


default_region_option = option(
    "--default-region",
    default="US",  # reconciler.manifest.fields.DEFAULT_REGION, without loading phonenumbers
    show_default=True,
    metavar="CC",
    callback=_region,
    help="Country (ISO code) of phone numbers written without a +country prefix.",
)


def _selector(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    if not value:
        return None
    from reconciler.plan.selector import SelectorError, parse_selector

    try:
        return parse_selector(value)
    except SelectorError as exc:
        raise click.BadParameter(str(exc)) from None


selector_option = option(
    "--selector",
    "-l",
    default=None,
    metavar="EXPR",
    callback=_selector,
    help=(
        "Act only on contacts whose labels match, in Kubernetes label-selector syntax: "
        "'team=sales', 'region!=west', 'tier in (a,b)', 'vip', '!vip', comma-separated. "
        "Nothing outside the selection is written or pruned."
    ),
)
