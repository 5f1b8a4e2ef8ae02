"""Plan symbols are coloured on terminals, and never when NO_COLOR is set or off a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click
import pytest

from reconciler.controller.logs import use_color
from reconciler.plan.render_color import color_plan

PLAN = (
    '  # contact "ann" will be created\n'
    '  + contact "ann" {\n'
    '      + emailAddresses = [{"value": "ann@example.com"}]\n'
    '      ~ names          = [{"givenName": "A"}] -> [{"givenName": "Ann"}]\n'
    '      - urls           = [{"value": "https://a.example"}] -> null\n'
    "    }\n"
    "Plan: 1 to add, 0 to change, 0 to destroy.\n"
)


def test_each_symbol_line_gets_its_colour_and_nothing_else_changes() -> None:
    """Green +, yellow ~, red -; stripped of colour, the text is the same."""
    colored = color_plan(PLAN)
    lines = colored.split("\n")
    assert lines[1].startswith("  \x1b[32m+ contact")
    assert lines[2].startswith("      \x1b[32m+ emailAddresses")
    assert lines[3].startswith("      \x1b[33m~ names")
    assert lines[4].startswith("      \x1b[31m- urls")
    assert lines[0] == PLAN.split("\n")[0]
    assert lines[-2] == "Plan: 1 to add, 0 to change, 0 to destroy."
    assert click.unstyle(colored) == PLAN


@pytest.fixture
def terminal() -> Iterator[TextIO]:
    """A real terminal (a pseudo-terminal's far end), as a text stream."""
    primary, secondary = os.openpty()
    stream = os.fdopen(secondary, "w")
    yield stream
    stream.close()
    os.close(primary)


def test_colour_only_on_a_terminal_and_never_with_no_color(
    terminal: TextIO, tmp_path: Path
) -> None:
    """A terminal gets colour; NO_COLOR (any non-empty value) and files never do."""
    assert use_color(terminal, env={})
    assert use_color(terminal, env={"NO_COLOR": ""})
    assert not use_color(terminal, env={"NO_COLOR": "1"})
    with (tmp_path / "out.txt").open("w") as file:
        assert not use_color(file, env={})


def plan_on_a_terminal(tmp_path: Path, env: dict[str, str]) -> str:
    """``reconciler plan`` with its stdout on a pseudo-terminal; what the terminal showed."""
    (tmp_path / "ann.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
        "spec:\n  emailAddresses: [ann@example.com]\n"
    )
    primary, secondary = os.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "plan", "--state-dir", str(tmp_path / "state"),
         str(tmp_path / "ann.yaml")],
        stdout=secondary, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        env={**environment, **env},
    )  # fmt: skip
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the far end closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode()


def test_plan_is_coloured_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    """The real CLI on a terminal colours '+ contact'; NO_COLOR=1 turns it off."""
    assert "\x1b[32m+ contact" in plan_on_a_terminal(tmp_path, {})
    plain = plan_on_a_terminal(tmp_path, {"NO_COLOR": "1"})
    assert "+ contact" in plain
    assert "\x1b[" not in plain
