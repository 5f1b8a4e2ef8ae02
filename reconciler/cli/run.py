"""``reconciler run``: the long-running controller.

Argument parsing only; the loop lives in :mod:`reconciler.controller`. Durations accept ``500ms``,
``30s``, ``10m``, ``1h`` or plain seconds, like Kubernetes and Go flags.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from reconciler.cli.budgets import budget_options, pacing_of
from reconciler.cli.options import (
    F,
    credentials_option,
    default_region_option,
    envvar_for,
    lock_timeout_option,
    option,
    option_flags,
    owner_option,
    state_dir_of,
    state_dir_option,
    state_option,
    subject_option,
    target_option,
    token_option,
)
from reconciler.cli.plan import deletion_guard_options
from reconciler.clock import parse_duration
from reconciler.controller.pollschedule import POLL_SHARE


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """A duration flag: ``500ms``, ``30s``, ``10m``, ``1h`` or seconds; returns seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        seconds = parse_duration(value)
        if seconds is None:
            self.fail(
                f"{value!r} is not a duration: use 500ms, 30s, 10m, 1h or seconds", param, ctx
            )
        if seconds <= 0:
            self.fail(f"{value!r} must be longer than zero", param, ctx)
        return seconds


DURATION = Duration()


def _spelt(name: str) -> str:
    """How the user gave option ``name``: its flag, or its environment variable."""
    ctx = click.get_current_context()
    flag = option_flags(ctx.command)[name]
    if ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT:
        return f"{envvar_for(flag)} ({flag})"
    return flag


def _shared_identity(
    *, token: str | None, subject: str | None, credentials: str | None, target: str
) -> list[str]:
    """With an accounts file, each account's identity comes only from its own entry: options
    that would give every account the same user are refused before anything starts."""
    problems = []
    if token:
        problems.append(
            f"{_spelt('token')} would send every account of the accounts file to the token's "
            "user (and with --prune they would delete each other's contacts); with --config each "
            "account is its own subject (on an emulator target, the token user:<subject>): unset it"
        )
    if subject:
        problems.append(
            f"{_spelt('subject')} is for a single account: with --config, set each subject in "
            "the file"
        )
    if credentials and target == "google":  # other targets never read them
        from reconciler.people.auth import credentials_type

        kind = credentials_type(credentials)
        if kind != "service_account":
            problems.append(
                f"{_spelt('credentials')} is {kind or 'not a credentials file'!r}, one user's "
                "own login for every account: with --config, give a service-account key with "
                "domain-wide delegation, so that each account acts as its own subject"
            )
    return problems


def duration_option(flag: str, default: str, help: str) -> Callable[[F], F]:
    """A duration flag (seconds once parsed), its default shown in ``--help``."""
    return option(flag, type=DURATION, default=default, show_default=True, help=help)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        "Accounts file (YAML): accounts listed one by one, or selected from the Directory "
        "API; without it, PATHS are reconciled for the token's user."
    ),
)
@option(
    "--shard",
    default=None,
    metavar="I/N|auto/N",
    help="Reconcile only the accounts of shard I of N (auto: the StatefulSet pod ordinal).",
)
@option(
    "--health-addr",
    default=":8081",
    show_default=True,
    help="Where to serve /healthz and /readyz ([HOST]:PORT; 0 turns it off).",
)
@option(
    "--metrics-addr",
    default=":8080",
    show_default=True,
    help="Where to serve Prometheus /metrics ([HOST]:PORT; 0 turns it off).",
)
@duration_option(
    "--resync-interval", "10m", "Full pass over every account this often (jittered by 10%)."
)
@duration_option(
    "--poll-interval",
    "30s",
    "Poll each account for out-of-band changes this often, or less often when the replica's "
    "polls would take more than --poll-share of --project-reads-per-minute; passes waiting for "
    "a slot go first (up to --resync-interval).",
)
@duration_option(
    "--debounce", "2s", "Wait for the manifests to be quiet this long before reloading them."
)
@option(
    "--drift-policy",
    type=click.Choice(["correct", "report", "ignore"]),
    default="correct",
    show_default=True,
    help=(
        "What to do about drift (a managed field changed live since we wrote it, its manifest "
        "value unchanged): write it back, only report it, or neither. Manifest changes are "
        "always written."
    ),
)
@option(
    "--prune/--no-prune",
    default=False,
    show_default=True,
    help="Delete managed contacts whose manifest is gone.",
)
@option(
    "--suspend/--no-suspend",
    default=False,
    show_default=True,
    help="Run, watch and serve, but write nothing for any account.",
)
@deletion_guard_options
@duration_option(
    "--shutdown-timeout", "30s", "On SIGTERM, how long the in-flight passes may take to finish."
)
@duration_option(
    "--api-grace",
    "20s",
    "How long an account's passes or polls may fail before /readyz reports it unready.",
)
@lock_timeout_option(
    default=120.0,
    help=(
        "How long an account's passes may wait for a write lease another run holds before "
        "/readyz reports the account unready; they wait as long as it takes, and the other "
        "accounts carry on."
    ),
)
@option(
    "--log-format",
    type=click.Choice(["json", "console", "auto"]),
    default="auto",
    show_default=True,
    help="Log lines as JSON, or readable text (auto: text on a terminal).",
)
@option(
    "--concurrent-passes",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help=(
        "Reconcile passes in flight at once over all accounts (bounds memory and CPU bursts); "
        "edits and live changes may run a quarter more."
    ),
)
@budget_options(project=True)
@option(
    "--poll-share",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    default=POLL_SHARE,
    show_default=True,
    help="The share of --project-reads-per-minute the replica's polls may use at most.",
)
@option(
    "--notify",
    "notify_urls",
    multiple=True,
    metavar="URL",
    help=(
        "Tell someone about failures, drift, broken manifests and withheld deletes: an Apprise "
        "URL (json://host/path, slack://..., mailto://...). Repeatable; URLs carrying secrets "
        "belong in RECONCILER_NOTIFY (space-separated) or --notify-config, not on the command line."
    ),
)
@option(
    "--notify-config",
    "notify_configs",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="An Apprise configuration file of notification URLs (for example a mounted Secret).",
)
@option(
    "--github-status",
    default=None,
    metavar="OWNER/REPO",
    help="Post a GitHub commit status for each manifests revision (token: RECONCILER_GITHUB_TOKEN "
    "or --github-token-file).",
)
@option(
    "--github-api",
    default="https://api.github.com",
    show_default=True,
    metavar="URL",
    help="The GitHub API base (GitHub Enterprise: https://HOST/api/v3).",
)
@option(
    "--github-token-file",
    default=None,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file holding the GitHub token for --github-status.",
)
@default_region_option
@subject_option
@credentials_option
@target_option
@token_option
@state_dir_option
@state_option
@owner_option
def run(
    paths: tuple[Path, ...],
    config_file: Path | None,
    shard: str | None,
    health_addr: str,
    metrics_addr: str,
    resync_interval: float,
    poll_interval: float,
    debounce: float,
    drift_policy: str,
    prune: bool,
    suspend: bool,
    max_deletes: int,
    max_delete_share: float,
    allow_mass_delete: bool,
    shutdown_timeout: float,
    api_grace: float,
    lock_timeout: float,
    log_format: str,
    concurrent_passes: int,
    poll_share: float,
    notify_urls: tuple[str, ...],
    notify_configs: tuple[Path, ...],
    github_status: str | None,
    github_api: str,
    github_token_file: Path | None,
    default_region: str,
    subject: str | None,
    credentials: str | None,
    target: str,
    token: str | None,
    state_dir: str | None,
    state: str | None,
    owner: str,
    **budgets: float,
) -> None:
    """Keep the address books converged with the manifests in PATHS, until SIGTERM.

    Watches the manifests, polls the live address book for out-of-band changes, resyncs
    periodically, and serves health probes and Prometheus metrics. Exits 0 after a graceful stop.
    """
    from reconciler.cli.verbosity import log_level
    from reconciler.controller.account import Intervals
    from reconciler.controller.accounts import (
        AccountsError,
        DriftPolicy,
        load_accounts,
        single_account,
    )
    from reconciler.controller.logs import configure_logging
    from reconciler.controller.runner import RunSettings
    from reconciler.controller.serving import AddressError, parse_addr
    from reconciler.controller.sharding import ShardSpecError, parse_shard

    configure_logging(
        "auto" if log_format == "auto" else "json" if log_format == "json" else "console",
        level=log_level(logging.INFO),
    )
    policy = DriftPolicy(drift_policy)
    try:
        parse_addr(health_addr)
        parse_addr(metrics_addr)
        shard_spec = parse_shard(shard)
    except (AddressError, ShardSpecError) as error:
        raise click.UsageError(str(error)) from error
    if config_file is not None and paths:
        raise click.UsageError("give manifest PATHS or --config, not both")
    if config_file is not None:
        problems = _shared_identity(
            token=token, subject=subject, credentials=credentials, target=target
        )
        if problems:
            for problem in problems:
                click.echo(f"Error: {problem}", err=True)
            sys.exit(1)
    try:
        config = (
            load_accounts(config_file, default_owner=owner, drift_policy=policy)
            if config_file is not None
            else single_account(paths, owner=owner, drift_policy=policy, subject=subject)
        )
    except AccountsError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    settings = RunSettings(
        target=target,
        token=token,
        state_dir=state_dir_of(state_dir, state),
        credentials=credentials,
        default_region=default_region,
        intervals=Intervals(poll=poll_interval, resync=resync_interval, debounce=debounce),
        health_addr=health_addr,
        metrics_addr=metrics_addr,
        shard=shard_spec,
        prune=prune,
        max_deletes=max_deletes,
        max_delete_share=max_delete_share,
        allow_mass_delete=allow_mass_delete,
        suspend=suspend,
        shutdown_timeout=shutdown_timeout,
        api_grace=api_grace,
        flags=option_flags(click.get_current_context().command),
        lock_timeout=lock_timeout,
        concurrent_passes=concurrent_passes,
        pacing=pacing_of(budgets),
        poll_share=poll_share,
    )
    notifications = _notifications(
        (*notify_urls, *config.notify), notify_configs, github_status, github_api, github_token_file
    )
    sys.exit(asyncio.run(_run(config, settings, notifications)))


async def _run(config: Any, settings: Any, notifications: Any) -> int:
    from reconciler.controller.gil import loop_first
    from reconciler.controller.runner import run_controller

    # The notifier's queue belongs to the running loop, so it is made inside it.
    notifier = notifications() if notifications else None
    with loop_first():  # the probes are served by this loop: it takes the GIL back first
        return await run_controller(config, settings, notifications=notifier)


def _notifications(
    urls: tuple[str, ...],
    configs: tuple[Path, ...],
    github_repo: str | None,
    github_api: str,
    github_token_file: Path | None,
) -> Callable[[], Any] | None:
    """A factory of the notifier for these targets (checked now), or None without targets."""
    import os

    from reconciler.remote.notify import AppriseTarget, Notifier, Target

    targets: list[Target] = []
    try:
        if urls or configs:
            targets.append(AppriseTarget(urls, configs))
        if github_repo:
            from reconciler.remote.github import GitHubStatus

            token = (
                github_token_file.read_text(encoding="utf-8")
                if github_token_file
                else os.environ.get("RECONCILER_GITHUB_TOKEN", "")
            )
            targets.append(GitHubStatus(github_repo, token, api=github_api))
    except (ValueError, OSError) as error:
        raise click.UsageError(str(error)) from error
    return (lambda: Notifier(targets)) if targets else None
