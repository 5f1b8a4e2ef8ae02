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
T = TypeVar("T")

ENV_PREFIX = "RECONCILER_"


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
        "Where the People API is: the in-process emulator (its state kept in --state-dir), "
        "the real Google API, or an emulator or People-compatible endpoint at a URL."
    ),
)
token_option = option(
    "--token",
    default=None,
    help="Bearer token for an http target (for the emulator, 'user:<email>' picks the user).",
)
state_option = option(
    "--state",
    default=None,
    type=click.Path(dir_okay=False),
    help="State file of the embedded emulator.  [default: embedded.sqlite3 in --state-dir]",
)
state_dir_option = option(
    "--state-dir",
    default=None,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help=(
        "Where the create journal, locks and the embedded state live (never the working "
        "directory).  [default: $XDG_STATE_HOME/reconciler, else ~/.local/state/reconciler]"
    ),
)


LOCK_TIMEOUT_HELP = (
    "Seconds to wait while another run holds the address book's write lease "
    "(0: refuse at once, naming the holder and when its lease expires)."
)


def lock_timeout_option(default: float, help: str = LOCK_TIMEOUT_HELP) -> Callable[[F], F]:
    """``--lock-timeout``: how long to wait for another writer's lease on the address book."""
    return option(
        "--lock-timeout",
        type=click.FloatRange(min=0.0),
        default=default,
        show_default=True,
        metavar="SECONDS",
        help=help,
    )


def state_dir_of(state_dir: str | None, state: str | None) -> Any:
    """The :class:`~reconciler.statedir.StateDir` of the flags; says so on stderr when an
    embedded address book from before the state directory is left in the working directory."""
    from reconciler.statedir import LEGACY_EMBEDDED, StateDir

    resolved = StateDir.at(state_dir, embedded=state)
    if state is None and LEGACY_EMBEDDED.is_file():
        click.echo(
            f"note: {LEGACY_EMBEDDED} is from an earlier version, which kept the embedded "
            f"address book in the working directory; it now lives in "
            f"{resolved.embedded_state}. To keep using the old one, pass --state "
            f"{LEGACY_EMBEDDED} (or move the file there).",
            err=True,
        )
    return resolved


owner_option = option(
    "--owner",
    default="reconciler",
    show_default=True,
    help="Owner id stamped on every contact this controller manages; two repos never share one.",
)


def option_flags(command: click.Command) -> dict[str, str]:
    """How ``command`` spells each of its options: parameter name -> its long flag. The one
    source for messages that tell a user which option to pass (:class:`PlanOptions` ``flags``)."""
    return {
        param.name: max(param.opts, key=len)
        for param in command.params
        if isinstance(param, click.Option) and param.name
    }


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


def _checked(check: Callable[[str], T], value: str, error: type[Exception]) -> T:
    """``check(value)``, its ``error`` turned into click's usage error for the option."""
    try:
        return check(value)
    except error as exc:
        raise click.BadParameter(str(exc)) from None


def _region(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from reconciler.manifest.fields import check_region

    return _checked(check_region, value, ValueError)


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

    return _checked(parse_selector, value, SelectorError)


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


def connection_options(command: F) -> F:
    """Where the address book is and as whom: ``--target``, ``--token``, ``--state-dir``,
    ``--state``, ``--subject``, ``--credentials``."""
    for decorate in reversed(
        [
            target_option,
            token_option,
            state_dir_option,
            state_option,
            subject_option,
            credentials_option,
        ]
    ):
        command = decorate(command)
    return command
