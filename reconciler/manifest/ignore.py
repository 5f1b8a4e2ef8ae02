"""Which files under a manifest folder are not manifests: ``.reconcilerignore`` and charts.

``plan``, ``apply``, ``validate`` and ``run`` walk the folders they are given (the current
directory by default) and read every ``.yaml``/``.yml`` file in them, so that a manifest
cannot be left out by accident. Two rules leave out what is not a manifest:

- a folder holding a ``Chart.yaml`` is a Helm chart (templates are not even YAML) and is not
  walked;
- a ``.reconcilerignore`` file at the top of a folder that is walked (the current directory,
  by default) lists what to leave out below it, one pattern a line, in gitignore's basic
  syntax: ``#`` starts a comment; a trailing ``/`` matches folders only; a pattern with a
  ``/`` in it (``/ci/*.yaml``, ``docs/examples``) is matched against the path from that
  folder, one without (``*.ci.yml``) against the name at any depth; ``*``, ``?`` and
  ``[...]`` are wildcards. Negation (``!``) is not supported.

Hidden files and folders (``.github/``, ``.gitlab-ci.yml``) are never walked at all. A file
named on the command line is always read, whatever these rules say.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Final

IGNORE_FILE: Final = ".reconcilerignore"
CHART_FILE: Final = "Chart.yaml"


@dataclass(frozen=True)
class Pattern:
    glob: str
    anchored: bool  # matched against the whole relative path, not only the name
    folders_only: bool

    def matches(self, relative: str, is_dir: bool) -> bool:
        if self.folders_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(relative, self.glob)
        return fnmatch.fnmatchcase(relative.rsplit("/", 1)[-1], self.glob)


@dataclass(frozen=True)
class Ignore:
    """The patterns of one ``.reconcilerignore``, for paths relative to its folder."""

    patterns: tuple[Pattern, ...] = ()

    def __call__(self, relative: str, is_dir: bool) -> bool:
        return any(pattern.matches(relative, is_dir) for pattern in self.patterns)


def parse_ignore(text: str) -> Ignore:
    """The patterns written in a ``.reconcilerignore``."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        folders_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        patterns.append(Pattern(line.lstrip("/"), anchored, folders_only))
    return Ignore(tuple(patterns))


def read_ignore(folder: Path) -> Ignore:
    """The ``.reconcilerignore`` of ``folder``, or one that ignores nothing."""
    try:
        return parse_ignore((folder / IGNORE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return Ignore()


def is_chart(folder: Path) -> bool:
    """Whether ``folder`` is a Helm chart."""
    return (folder / CHART_FILE).is_file()
