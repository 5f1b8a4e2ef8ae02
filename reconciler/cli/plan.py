"""``reconciler plan``: show what an apply would change, and write nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from reconciler.cli.options import (
    credentials_option,
    default_region_option,
    envvar_for,
    option,
    option_flags,
    output_option,
    owner_option,
    selector_option,
    state_dir_of,
    state_dir_option,
    state_option,
    subject_option,
    target_option,
    token_option,
)

F = TypeVar("F", bound=Callable[..., Any])


def deletion_guard_options(command: F) -> F:
    """The caps on deletions; ``plan``, ``apply`` and ``run`` take the same ones."""
    decorators = [
        option(
            "--max-deletes",
            type=click.IntRange(min=0),
            default=100,
            show_default=True,
            help="Refuse plans that delete more contacts than this (run: withhold them).",
        ),
        option(
            "--max-delete-share",
            type=click.FloatRange(0.0, 1.0),
            default=0.25,
            show_default=True,
            help="Refuse plans that delete more than this share of the managed contacts.",
        ),
        option(
            "--allow-mass-delete",
            is_flag=True,
            help="Override --max-deletes and --max-delete-share.",
        ),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def planning_options(command: F) -> F:
    """The flags that shape a plan; ``apply`` takes the same ones."""
    decorators = [
        option("--prune", is_flag=True, help="Delete managed contacts whose manifest is gone."),
        deletion_guard_options,
        option(
            "--allow-empty",
            "allow_empty_desired",
            is_flag=True,
            help="With --prune, delete every managed contact when no contact manifest is left.",
        ),
        option(
            "--adopt-by-email",
            is_flag=True,
            help="Adopt unstamped live contacts that match a manifest by email.",
        ),
        selector_option,
        default_region_option,
        target_option,
        token_option,
        state_dir_option,
        state_option,
        owner_option,
        subject_option,
        credentials_option,
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def plan_options(**kwargs: Any) -> Any:
    """The core's ``PlanOptions`` from the parsed flags."""
    from reconciler.plan import PlanOptions

    return PlanOptions(
        owner=kwargs["owner"],
        prune=kwargs["prune"],
        adopt_by_email=kwargs["adopt_by_email"],
        default_region=kwargs["default_region"],
        max_deletes=kwargs["max_deletes"],
        max_delete_share=kwargs["max_delete_share"],
        allow_mass_delete=kwargs["allow_mass_delete"],
        selector=kwargs["selector"],
        allow_empty_desired=kwargs["allow_empty_desired"],
        flags=option_flags(click.get_current_context().command),
    )


def target_of(**kwargs: Any) -> Any:
    from reconciler.apply.commands import Target

    return Target(
        target=kwargs["target"],
        token=kwargs["token"],
        owner=kwargs["owner"],
        subject=kwargs["subject"],
        credentials=kwargs["credentials"],
        state_dir=state_dir_of(kwargs["state_dir"], kwargs["state"]),
    )


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@output_option(
    "text",
    "json",
    "markdown",
    help="Plan format: text for people, json for programs, markdown for pull requests.",
    command="plan",
)
@option("--compact", is_flag=True, help="Text output: one line per contact.")
@option("--redact", is_flag=True, help="Mask personal values, still showing which fields change.")
@option(
    "--out",
    envvar=envvar_for("--out", "plan"),
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also save the plan to FILE, for 'reconciler apply FILE'.",
)
@option(
    "--drift-only",
    is_flag=True,
    help="Show only what changed live since the reconciler last applied it (drift), nothing "
    "the manifests ask for; cannot be saved with --out.",
)
@option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes (with --drift-only: "
    "when there is drift), 1 on error.",
)
@planning_options
def plan(paths: tuple[str, ...], **kwargs: Any) -> None:
    """Show what 'reconciler apply' would change in the live address book (writes nothing).

    PATHS are manifest files or directories (default: the current directory).
    """
    from reconciler.apply.commands import PlanRequest, run_plan
    from reconciler.cli.verbosity import log_level
    from reconciler.controller.logs import use_color

    if kwargs["drift_only"] and kwargs["out"]:
        raise click.UsageError(
            "--drift-only cannot be combined with --out: a drift-only plan is for reading; "
            "to write the drift back, plan without --drift-only (drift is marked '# drift') "
            "and apply that plan",
        )
    request = PlanRequest(
        paths=paths,
        target=target_of(**kwargs),
        options=plan_options(**kwargs),
        output=kwargs["output"],
        compact=kwargs["compact"],
        redact=kwargs["redact"],
        out=kwargs["out"],
        detailed_exitcode=kwargs["detailed_exitcode"],
        color=use_color(),
        log_level=log_level(),
        drift_only=kwargs["drift_only"],
    )
    raise SystemExit(run_plan(request))
