"""The ``reconciler`` command line.

Argument parsing only: every command lives in its own module under ``reconciler.cli`` and is a
thin call into the layers below. Commands are imported lazily so that ``reconciler validate``
does not pay for importing the HTTP client, the emulator or the controller.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from reconciler import __version__
from reconciler.cli.verbosity import verbosity_options

# command name -> "module:attribute" of a click.Command. One line per command.
COMMANDS: dict[str, str] = {
    "apply": "reconciler.cli.apply:apply",
    "emulator": "reconciler.cli.emulator:emulator",
    "export": "reconciler.cli.export:export",
    "force-unlock": "reconciler.cli.force_unlock:force_unlock",
    "import": "reconciler.cli.importing:import_",
    "plan": "reconciler.cli.plan:plan",
    "run": "reconciler.cli.run:run",
    "schema": "reconciler.cli.schema:schema",
    "status": "reconciler.cli.status:status",
    "validate": "reconciler.cli.validate:validate",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when they are used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command: Any = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        if not any(param.name == "verbose" for param in command.params):
            command.params.extend(verbosity_options())  # -q/-v after the command name too
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    params=verbosity_options(),
)
@click.version_option(__version__, prog_name="reconciler")
def main() -> None:
    """Keep Google Contacts converged with YAML manifests in git.

    Every flag can also be set from the environment as RECONCILER_<FLAG>, for example
    RECONCILER_TARGET or RECONCILER_TOKEN; flags whose value differs by command name it,
    as RECONCILER_PLAN_OUT. Each command's --help shows its variables. -v/-q (before or
    after the command) make stderr say more or only errors; results always go to stdout.
    """
