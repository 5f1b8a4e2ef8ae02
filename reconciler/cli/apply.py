"""``reconciler apply``: converge the live address book to the manifests, once.

Everything a person sees lives here: the plan and the confirmation prompt, the progress bar, the
summary and what was left, and the exit code. The writing itself is the apply engine's
(:func:`reconciler.apply.engine.converge`, or :func:`reconciler.apply.saved.apply_saved` for a
saved plan).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from reconciler.apply.visibility import DEFAULT_TIMEOUT as VISIBILITY_TIMEOUT
from reconciler.cli.budgets import budget_options, pacing_of
from reconciler.cli.options import lock_timeout_option, option, output_option
from reconciler.cli.plan import plan_options, planning_options, target_of
from reconciler.cli.progress import ProgressBar, render_result
from reconciler.cli.session import (
    EXIT_ERROR,
    EXIT_LEFT,
    EXIT_OK,
    Target,
    err,
    load_desired,
    quiet_logs,
)
from reconciler.people.pacing import PacingConfig

if TYPE_CHECKING:
    from reconciler.apply.executor import ExecutorSettings
    from reconciler.apply.gateway import ClientGateway
    from reconciler.apply.journal import CreateJournal
    from reconciler.apply.lease import Lease
    from reconciler.apply.results import ApplyResult
    from reconciler.model import DesiredState
    from reconciler.plan import Plan, PlanOptions, SavedPlan


def _default_executor() -> ExecutorSettings:
    from reconciler.apply.executor import ExecutorSettings

    return ExecutorSettings()


@dataclass(frozen=True)
class ApplyRequest:
    paths: Sequence[str]
    target: Target
    options: PlanOptions
    auto_approve: bool = False
    output: Literal["text", "json"] = "text"
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty() and sys.stdout.isatty())
    executor: ExecutorSettings = field(default_factory=_default_executor)
    visibility_timeout: float = VISIBILITY_TIMEOUT  # seconds an apply waits for its creates
    lock_timeout: float = 0.0  # seconds an apply waits for another writer's lease
    color: bool = False  # colour the text plan's symbols (a terminal, and no NO_COLOR)
    log_level: int = logging.WARNING  # stderr: WARNING by default, ERROR with -q
    # Options that shape a new plan, as given on the command line: a saved plan was shaped
    # when it was made, so applying one with any of them is refused rather than ignored.
    shaping: tuple[str, ...] = ()
    ignore_manifest_changes: bool = False  # apply a saved plan whose manifests changed since
    pacing: PacingConfig = field(default_factory=PacingConfig)  # the account's budgets


# Parameters of ``planning_options`` that change what a plan contains (not where it applies).
SHAPING = (
    "prune",
    "selector",
    "max_deletes",
    "max_delete_share",
    "allow_mass_delete",
    "allow_empty_desired",
    "adopt_by_email",
    "default_region",
)


def shaping_given(context: click.Context) -> tuple[str, ...]:
    """The plan-shaping options set on the command line, by their first flag."""
    from click.core import ParameterSource

    return tuple(
        param.opts[0]
        for param in context.command.params
        if param.name in SHAPING
        and context.get_parameter_source(param.name) is ParameterSource.COMMANDLINE
    )


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
@option(
    "--ignore-manifest-changes",
    is_flag=True,
    help=(
        "Apply a saved plan even though the manifests it was made from changed since (or are "
        "not found from here): the plan is written exactly as it was reviewed."
    ),
)
@lock_timeout_option(default=0.0)
@budget_options(project=False)
@planning_options
def apply(paths: tuple[str, ...], **kwargs: Any) -> None:
    """Make the live address book match the manifests (or apply a saved plan).

    PATHS are manifest files or directories (default: the current directory), or one plan file
    saved by 'reconciler plan --out'. A saved plan is applied only while the manifests it was made
    from are unchanged, and only for the items whose live etag is still the one it saw. Exits 0
    only when everything converged; otherwise lists what is left.
    """
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
        shaping=shaping_given(click.get_current_context()),
        ignore_manifest_changes=kwargs["ignore_manifest_changes"],
        pacing=pacing_of(kwargs),
        color=use_color(),
        log_level=log_level(),
    )
    raise SystemExit(run_apply(request))


def saved_plan_at(paths: Sequence[str]) -> SavedPlan | None:
    """The saved plan when the only argument is one (raises SavedPlanError if it is corrupt)."""
    from reconciler.plan import loads_plan

    if len(paths) != 1 or not Path(paths[0]).is_file():
        return None
    path = Path(paths[0])
    head = path.read_bytes()[:200].lstrip()
    if not head.startswith(b"{"):
        return None
    return loads_plan(path.read_bytes(), source=str(path))


def run_apply(request: ApplyRequest) -> int:
    """Converge once (or apply a saved plan); 0 only when everything converged.

    As in Terraform, a saved plan is applied without asking again (the plan was the review),
    and a plan with nothing to change needs nobody to confirm it: only changes not yet reviewed
    need a terminal or ``--auto-approve``.
    """
    from reconciler.apply.journal import JournalLocked
    from reconciler.apply.lease import LeaseError
    from reconciler.people.errors import PeopleError
    from reconciler.plan import PlanError, SavedPlanError, check_binding, check_manifests

    quiet_logs(request.log_level)
    try:
        saved = saved_plan_at(request.paths)
    except SavedPlanError as error:
        err(f"Error: {error}")
        return EXIT_ERROR
    if saved is not None and request.shaping:
        err(
            f"Error: {', '.join(request.shaping)} shape a new plan, but {request.paths[0]} is a "
            "saved plan, applied as it was reviewed; make a new plan with them "
            "('reconciler plan ... --out FILE') and apply that"
        )
        return EXIT_ERROR
    if saved is None and request.ignore_manifest_changes:
        err(
            "Error: --ignore-manifest-changes is for applying a saved plan "
            "('reconciler apply PLANFILE'); these manifests are planned afresh"
        )
        return EXIT_ERROR
    if saved is not None:
        try:  # the target, owner and manifests are known before connecting: refuse untouched
            check_binding(
                saved.binding,
                request.target.binding(saved.binding.account),
                source=request.paths[0],
            )
            if not request.ignore_manifest_changes:
                now = _manifests_now(saved, request.paths[0])
                check_manifests(saved, now, source=request.paths[0])
        except SavedPlanError as error:
            err(f"Error: {error}")
            return EXIT_ERROR
    desired = None
    if saved is None:
        desired = load_desired(request.paths, request.options.default_region)
        if desired is None:
            return EXIT_ERROR
    bar = ProgressBar(enabled=request.interactive)
    try:
        result = asyncio.run(_apply(request, desired, saved, bar))
    except (JournalLocked, LeaseError) as error:
        err(f"Error: {error}")
        return EXIT_ERROR
    except (PlanError, PeopleError, SavedPlanError) as error:
        err(f"Error: {error}")
        return EXIT_ERROR
    finally:
        bar.close()
    return _report(request, result)


def _manifests_now(saved: SavedPlan, source: str) -> str | None:
    """The fingerprint the manifests a saved plan was made from have now (None: not found
    from here); a warning when the plan, saved by an older version, names none."""
    from reconciler.manifest import fingerprint_of

    if saved.manifests is None:
        err(
            f"Warning: {source} names no manifests (saved by an older version): whether they "
            "changed since it was made is not checked"
        )
        return None
    if not all(Path(path).exists() for path in saved.manifests.paths):
        return None
    return fingerprint_of(saved.manifests.paths)


def _approver(
    request: ApplyRequest, bar: ProgressBar, lease: Lease, *, reviewed: bool
) -> Callable[[Plan], bool]:
    """Ask before writing changes nobody reviewed yet (``reviewed``: a saved plan)."""
    from reconciler.plan import render_text
    from reconciler.plan.render_color import color_plan

    def approve(plan: Plan) -> bool:
        changes = len(plan.changes)
        if changes and not request.auto_approve and not reviewed:
            if not request.interactive:
                err(
                    "Error: not on a terminal, so there is nobody to confirm the plan; review "
                    "it with 'reconciler plan --out FILE' and apply FILE, or run apply with "
                    "--auto-approve"
                )
                return False
            shown = render_text(plan)
            click.echo((color_plan(shown) if request.color else shown).rstrip("\n"))
            click.echo("")
            if not click.confirm("Apply these changes?", default=False):
                return False
            lease.check()  # the prompt blocked renewals: still ours before the first write?
        bar.start(changes)
        return True

    return approve


async def _apply(
    request: ApplyRequest, desired: DesiredState | None, saved: SavedPlan | None, bar: ProgressBar
) -> ApplyResult:
    from reconciler.apply.gateway import ClientGateway
    from reconciler.people import ClientConfig, connect
    from reconciler.plan import check_binding

    t = request.target
    async with connect(
        t.target, token=t.token, state=t.state, subject=t.subject, credentials=t.credentials,
        config=ClientConfig(pacing=request.pacing),
    ) as client:  # fmt: skip
        gateway = ClientGateway(client)
        if saved is not None:  # whose address book this is, before anything else is read
            check_binding(
                saved.binding, t.binding(await client.address_book()), source=request.paths[0]
            )
        lease = t.lease(client, client.account, "apply")
        async with lease.held(request.lock_timeout):
            with t.journal(client.account, clock=lease.clock) as journal:
                plan = saved.plan if saved is not None else None
                return await _apply_held(request, gateway, journal, lease, desired, plan, bar)


async def _apply_held(
    request: ApplyRequest,
    gateway: ClientGateway,
    journal: CreateJournal,
    lease: Lease,
    desired: DesiredState | None,
    saved: Plan | None,
    bar: ProgressBar,
) -> ApplyResult:
    """Apply while holding the journal and the lease; return once the creates are listed."""
    from reconciler.apply.engine import ApplySettings, converge
    from reconciler.apply.saved import apply_saved
    from reconciler.apply.visibility import require_listed

    settings = ApplySettings(plan=request.options, executor=request.executor)
    clock = lease.clock  # one timeline for the lease, the engine's waits and the listing's
    if saved is not None:
        result = await apply_saved(
            gateway, journal, saved, settings, progress=bar.advance,
            on_plan=_approver(request, bar, lease, reviewed=saved is not None), clock=clock,
        )  # fmt: skip
    else:
        assert desired is not None
        result = await converge(
            gateway, journal, desired, settings, progress=bar.advance,
            on_plan=_approver(request, bar, lease, reviewed=saved is not None), clock=clock,
        )  # fmt: skip
    await require_listed(gateway, journal, result, within=request.visibility_timeout, clock=clock)
    return result


def _report(request: ApplyRequest, result: ApplyResult) -> int:
    if result.cancelled:
        err("Apply cancelled: nothing was changed.")
        return EXIT_ERROR
    if request.output == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    elif result.results or not result.errors:  # no plan was made: no summary of nothing applied
        click.echo(render_result(result, verbose=not request.interactive))
    for error in result.errors:
        err(f"Error: {error}")
    if result.errors:
        return EXIT_ERROR
    return EXIT_OK if result.converged else EXIT_LEFT
