"""Terraform's colours for the text view: ``+`` green, ``~`` yellow, ``-`` red.

A separate pass over the rendered text, so the text view stays exactly what ``--output text``
documents (and what saved logs and tests read); the CLI applies it only on a terminal without
``NO_COLOR``. Plain ANSI SGR codes: pure, no terminal library.
"""

from __future__ import annotations

import re

COLORS = {"+": "\x1b[32m", "~": "\x1b[33m", "-": "\x1b[31m"}
RESET = "\x1b[0m"
_SYMBOL = re.compile(r"^(\s*)([+~-]) ")


def color_plan(text: str) -> str:
    """``text`` (a rendered plan) with each ``+``/``~``/``-`` line in its colour."""
    lines = []
    for line in text.split("\n"):
        found = _SYMBOL.match(line)
        if found is not None:
            indent = found.group(1)
            line = f"{indent}{COLORS[found.group(2)]}{line[len(indent) :]}{RESET}"
        lines.append(line)
    return "\n".join(lines)
