"""Colour for plan symbols on terminals, and none where NO_COLOR says so.

As in Terraform, ``+`` lines are green, ``~`` yellow and ``-`` red. Colour is used only when
the output is a terminal and ``NO_COLOR`` (https://no-color.org) is unset or empty: pipes,
files, CI logs and saved plans always get plain text, byte for byte what ``--output text``
documents.
"""

from __future__ import annotations

import re

import click

from reconciler.controller.logs import use_color

__all__ = ["COLORS", "color_plan", "use_color"]

COLORS = {"+": "green", "~": "yellow", "-": "red"}
_SYMBOL = re.compile(r"^(\s*)([+~-]) ")


def color_plan(text: str) -> str:
    """``text`` (a rendered plan) with each ``+``/``~``/``-`` line in its colour."""
    lines = []
    for line in text.split("\n"):
        found = _SYMBOL.match(line)
        if found is not None:
            indent = found.group(1)
            line = indent + click.style(line[len(indent) :], fg=COLORS[found.group(2)])
        lines.append(line)
    return "\n".join(lines)
