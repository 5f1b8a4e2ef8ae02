"""Plan symbols are coloured on terminals, and never when NO_COLOR is set or off a terminal."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click
import pytest

from reconciler.cli.colors import color_plan, use_color

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
