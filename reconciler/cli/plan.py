"""``reconciler plan``: show what an apply would change, and write nothing.

Manifests are loaded and validated before any connection is made: one bad file means no API
call at all. The plan is printed in the chosen view (text, JSON or markdown, each rendered from
the same :class:`~reconciler.plan.Plan`) and the exit code says whether anything would change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

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
from reconciler.cli.session import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    Target,
    err,
    load_desired,
    quiet_logs,
)

if TYPE_CHECKING:
    from reconciler.model import DesiredState
    from reconciler.plan import Binding, Plan, PlanOptions

F = TypeVar("F", bound=Callable[..., Any])
PlanFormat = Literal["text", "json", "markdown"]


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


def plan_options(**kwargs: Any) -> PlanOptions:
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


def target_of(**kwargs: Any) -> Target:
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


@dataclass(frozen=True)
class PlanRequest:
    paths: Sequence[str]
    target: Target
    options: PlanOptions
    output: PlanFormat = "text"
    compact: bool = False
    redact: bool = False
    out: str | None = None
    detailed_exitcode: bool = False
    color: bool = False  # colour the text plan's symbols (a terminal, and no NO_COLOR)
    log_level: int = logging.WARNING  # stderr: WARNING by default, ERROR with -q
    drift_only: bool = False  # show only drift (never saved: the CLI refuses it with ``out``)


def render_plan(plan: Plan, output: PlanFormat, *, compact: bool, redact: bool) -> str:
    from reconciler.plan import render_json, render_markdown, render_text

    if output == "json":
        return render_json(plan, redact=redact)
    if output == "markdown":
        return render_markdown(plan, redact=redact)
    return render_text(plan, redact=redact, compact=compact)


def run_plan(request: PlanRequest) -> int:
    """Print the plan (and save it with ``--out``); exit code per ``--detailed-exitcode``."""
    from reconciler.manifest import DEFAULT_PATH
    from reconciler.people.errors import PeopleError
    from reconciler.plan import Manifests, PlanError, drift_only, dumps_plan
    from reconciler.plan.render_color import color_plan

    quiet_logs(request.log_level)
    desired = load_desired(request.paths, request.options.default_region)
    if desired is None:
        return EXIT_ERROR
    try:
        plan, binding = asyncio.run(_plan(request, desired))
    except (PlanError, PeopleError) as error:
        err(f"Error: {error}")
        return EXIT_ERROR
    if request.drift_only:
        plan = drift_only(plan)
    shown = render_plan(plan, request.output, compact=request.compact, redact=request.redact)
    if request.color and request.output == "text":
        shown = color_plan(shown)
    click.echo(shown.rstrip("\n"))
    if request.out:
        assert binding is not None
        assert desired.fingerprint is not None
        made_from = Manifests(tuple(request.paths) or (DEFAULT_PATH,), desired.fingerprint)
        Path(request.out).write_text(
            dumps_plan(plan, binding, manifests=made_from), encoding="utf-8"
        )
        if request.log_level <= logging.WARNING:
            err(f"Saved the plan to {request.out}; apply it with: reconciler apply {request.out}")
    changed = bool(plan.items) if plan.drift_only else not plan.in_sync
    if request.detailed_exitcode and changed:
        return EXIT_CHANGES
    return EXIT_OK


async def _plan(request: PlanRequest, desired: DesiredState) -> tuple[Plan, Binding | None]:
    """The plan, and where it was made when it is to be saved (one more read: people/me)."""
    import time

    from reconciler.apply.executor import ExecutorSettings
    from reconciler.apply.gateway import ClientGateway
    from reconciler.apply.live import read_live
    from reconciler.people import connect
    from reconciler.plan import build_plan

    t = request.target
    async with connect(
        t.target, token=t.token, state=t.state, subject=t.subject, credentials=t.credentials
    ) as client:
        gateway = ClientGateway(client)
        with t.journal(client.account, readonly=True) as journal:
            read = await read_live(
                gateway, journal, owner=t.owner, settle=ExecutorSettings().settle, now=time.time
            )
        plan = build_plan(desired, read.state, request.options)
        account = await client.address_book() if request.out else None
        binding = t.binding(account, plan.revision) if account is not None else None
        return plan, binding
