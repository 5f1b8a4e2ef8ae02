"""``reconciler apply``: converge the live address book to the manifests, once."""

from __future__ import annotations

from typing import Any

import click

from reconciler.cli.options import lock_timeout_option, option, output_option
from reconciler.cli.plan import plan_options, planning_options, target_of


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@output_option("text", "json", help="Result format.", command="apply")
@option(
    "--create-settle",
    type=click.FloatRange(min=0.0),
    default=None,
    help=(
        "Seconds a listing may lag a create: a create whose answer was lost is not sent again "
        "before this much time has passed.  [default: 30, or 0 for the embedded target, whose "
        "listing never lags]"
    ),
)
@option(
    "--visibility-timeout",
    type=click.FloatRange(min=0.0),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help=(
        "Seconds apply waits for its creates to show in a listing, so that a later run from "
        "any directory or machine sees them; still missing after that, apply exits 1."
    ),
)
@lock_timeout_option(default=0.0)
@planning_options
def apply(paths: tuple[str, ...], **kwargs: Any) -> None:
    """Make the live address book match the manifests (or apply a saved plan).

    PATHS are manifest files or directories (default: the current directory), or one plan file
    saved by 'reconciler plan --out'. A saved plan is applied only for the items whose live etag
    is still the one it saw. Exits 0 only when everything converged; otherwise lists what is left.
    """
    from reconciler.apply.commands import ApplyRequest, run_apply
    from reconciler.apply.executor import ExecutorSettings
    from reconciler.cli.verbosity import log_level
    from reconciler.controller.logs import use_color

    settle = kwargs["create_settle"]
    if settle is None:
        settle = 0.0 if kwargs["target"] == "embedded" else 30.0
    request = ApplyRequest(
        paths=paths,
        target=target_of(**kwargs),
        options=plan_options(**kwargs),
        auto_approve=kwargs["auto_approve"],
        output=kwargs["output"],
        executor=ExecutorSettings(settle=settle),
        visibility_timeout=kwargs["visibility_timeout"],
        lock_timeout=kwargs["lock_timeout"],
        color=use_color(),
        log_level=log_level(),
    )
    raise SystemExit(run_apply(request))
