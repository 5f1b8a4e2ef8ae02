"""``reconciler plan`` and ``reconciler apply``: from parsed arguments to an exit code.

The CLI modules parse flags and call :func:`run_plan` or :func:`run_apply`; everything a user
sees (plans, confirmation, progress, the summary and what was left) is produced here, from the
same data as the JSON views. Manifests are loaded and validated before any connection is made:
one bad file means no API call at all, let alone a write.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import click
import structlog

from reconciler.apply.engine import ApplySettings, converge
from reconciler.apply.executor import ExecutorSettings
from reconciler.apply.gateway import ClientGateway
from reconciler.apply.journal import CreateJournal, JournalLocked
from reconciler.apply.lease import Lease, LeaseError, claim
from reconciler.apply.lease_record import LeaseClient
from reconciler.apply.live import read_live
from reconciler.apply.report import ProgressBar, render_result
from reconciler.apply.results import ApplyResult
from reconciler.apply.saved import apply_saved
from reconciler.apply.visibility import DEFAULT_TIMEOUT as VISIBILITY_TIMEOUT
from reconciler.apply.visibility import require_listed
from reconciler.model import DesiredState
from reconciler.people.errors import PeopleError
from reconciler.plan import (
    Binding,
    Plan,
    PlanError,
    PlanOptions,
    SavedPlan,
    SavedPlanError,
    build_plan,
    check_binding,
    drift_only,
    dumps_plan,
    loads_plan,
    render_json,
    render_markdown,
    render_text,
)
from reconciler.plan.render_color import color_plan
from reconciler.statedir import StateDir

PlanFormat = Literal["text", "json", "markdown"]
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
        return Binding(self.endpoint, account, self.owner, revision)

    def journal(self, account: str, *, readonly: bool = False) -> CreateJournal:
        path = self.state_dir.journal(target=self.target, account=account, owner=self.owner)
        return CreateJournal(path, readonly=readonly)


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


@dataclass(frozen=True)
class ApplyRequest:
    paths: Sequence[str]
    target: Target
    options: PlanOptions
    auto_approve: bool = False
    output: Literal["text", "json"] = "text"
    interactive: bool = field(default_factory=lambda: sys.stdin.isatty() and sys.stdout.isatty())
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    visibility_timeout: float = VISIBILITY_TIMEOUT  # seconds an apply waits for its creates
    lock_timeout: float = 0.0  # seconds an apply waits for another writer's lease
    color: bool = False
    log_level: int = logging.WARNING


def _quiet_logs(level: int = logging.WARNING) -> None:
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


def _err(message: str) -> None:
    click.echo(message, err=True)


def load_desired(paths: Sequence[str], default_region: str) -> DesiredState | None:
    """Load and validate every manifest; print each located error and return None on any."""
    from reconciler.manifest import DEFAULT_PATH, load

    loaded = load(list(paths) or [DEFAULT_PATH], default_region=default_region)
    if loaded.errors:
        for error in loaded.errors:
            _err(str(error))
        _err(f"{len(loaded.errors)} error(s) in the manifests: nothing was sent to the API.")
        return None
    return DesiredState(
        contacts=loaded.contacts,
        groups=loaded.groups,
        complete=loaded.ok,
        revision=loaded.revision or None,
    )


def render_plan(plan: Plan, output: PlanFormat, *, compact: bool, redact: bool) -> str:
    if output == "json":
        return render_json(plan, redact=redact)
    if output == "markdown":
        return render_markdown(plan, redact=redact)
    return render_text(plan, redact=redact, compact=compact)


# -- plan ----------------------------------------------------------------------------------------


def run_plan(request: PlanRequest) -> int:
    """Print the plan (and save it with ``--out``); exit code per ``--detailed-exitcode``."""
    _quiet_logs(request.log_level)
    desired = load_desired(request.paths, request.options.default_region)
    if desired is None:
        return EXIT_ERROR
    try:
        plan, binding = asyncio.run(_plan(request, desired))
    except (PlanError, PeopleError) as error:
        _err(f"Error: {error}")
        return EXIT_ERROR
    if request.drift_only:
        plan = drift_only(plan)
    shown = render_plan(plan, request.output, compact=request.compact, redact=request.redact)
    if request.color and request.output == "text":
        shown = color_plan(shown)
    click.echo(shown.rstrip("\n"))
    if request.out:
        assert binding is not None
        Path(request.out).write_text(dumps_plan(plan, binding), encoding="utf-8")
        if request.log_level <= logging.WARNING:
            _err(f"Saved the plan to {request.out}; apply it with: reconciler apply {request.out}")
    changed = bool(plan.items) if plan.drift_only else not plan.in_sync
    if request.detailed_exitcode and changed:
        return EXIT_CHANGES
    return EXIT_OK


async def _plan(request: PlanRequest, desired: DesiredState) -> tuple[Plan, Binding | None]:
    """The plan, and where it was made when it is to be saved (one more read: people/me)."""
    from reconciler.people import connect

    t = request.target
    async with connect(
        t.target, token=t.token, state=t.state, subject=t.subject, credentials=t.credentials
    ) as client:
        gateway = ClientGateway(client)
        with t.journal(client.account, readonly=True) as journal:
            read = await read_live(
                gateway, journal, owner=t.owner, settle=ExecutorSettings().settle, now=_now
            )
        plan = build_plan(desired, read.state, request.options)
        account = await client.address_book() if request.out else None
        binding = t.binding(account, plan.revision) if account is not None else None
        return plan, binding


def _now() -> float:
    import time

    return time.time()


# -- apply ---------------------------------------------------------------------------------------


def saved_plan_at(paths: Sequence[str]) -> SavedPlan | None:
    """The saved plan when the only argument is one (raises SavedPlanError if it is corrupt)."""
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
    _quiet_logs(request.log_level)
    try:
        saved = saved_plan_at(request.paths)
    except SavedPlanError as error:
        _err(f"Error: {error}")
        return EXIT_ERROR
    if saved is not None:
        try:  # the target and owner are known before connecting: refuse without touching it
            check_binding(
                saved.binding,
                request.target.binding(saved.binding.account),
                source=request.paths[0],
            )
        except SavedPlanError as error:
            _err(f"Error: {error}")
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
        _err(f"Error: {error}")
        return EXIT_ERROR
    except (PlanError, PeopleError, SavedPlanError) as error:
        _err(f"Error: {error}")
        return EXIT_ERROR
    finally:
        bar.close()
    return _report(request, result)


def _approver(
    request: ApplyRequest, bar: ProgressBar, lease: Lease, *, reviewed: bool
) -> Callable[[Plan], bool]:
    """Ask before writing changes nobody reviewed yet (``reviewed``: a saved plan)."""

    def approve(plan: Plan) -> bool:
        changes = len(plan.changes)
        if changes and not request.auto_approve and not reviewed:
            if not request.interactive:
                _err(
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
    from reconciler.people import connect

    t = request.target
    async with connect(
        t.target, token=t.token, state=t.state, subject=t.subject, credentials=t.credentials
    ) as client:
        gateway = ClientGateway(client)
        if saved is not None:  # whose address book this is, before anything else is read
            check_binding(
                saved.binding, t.binding(await client.address_book()), source=request.paths[0]
            )
        lease = t.lease(client, client.account, "apply")
        async with lease.held(request.lock_timeout):
            with t.journal(client.account) as journal:
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
    settings = ApplySettings(plan=request.options, executor=request.executor)
    if saved is not None:
        result = await apply_saved(
            gateway, journal, saved, settings, progress=bar.advance,
            on_plan=_approver(request, bar, lease, reviewed=saved is not None),
        )  # fmt: skip
    else:
        assert desired is not None
        result = await converge(
            gateway, journal, desired, settings, progress=bar.advance,
            on_plan=_approver(request, bar, lease, reviewed=saved is not None),
        )  # fmt: skip
    await require_listed(gateway, journal, result, within=request.visibility_timeout)
    return result


def _report(request: ApplyRequest, result: ApplyResult) -> int:
    if result.cancelled:
        _err("Apply cancelled: nothing was changed.")
        return EXIT_ERROR
    if request.output == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
    elif result.results or not result.errors:  # no plan was made: no summary of nothing applied
        click.echo(render_result(result, verbose=not request.interactive))
    for error in result.errors:
        _err(f"Error: {error}")
    if result.errors:
        return EXIT_ERROR
    return EXIT_OK if result.converged else EXIT_LEFT
