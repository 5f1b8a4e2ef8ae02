"""Located, actionable manifest errors.

Manifests are edited by hand and reviewed in pull requests, so every problem the loader finds
names the file, line and column (1-based, as editors count) and carries a hint that says what to
do about it. Errors are values, not exceptions: the loader collects all of them in one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Location:
    """Where something was written: a file and a 1-based line and column."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class ManifestError:
    """One problem in the manifests, at ``path:line:col``, with a hint saying how to fix it."""

    path: str
    line: int
    col: int
    message: str
    hint: str = ""

    @property
    def location(self) -> Location:
        return Location(self.path, self.line, self.col)

    def __str__(self) -> str:
        head = f"{self.path}:{self.line}:{self.col}: {self.message}"
        return f"{head}\n  hint: {self.hint}" if self.hint else head

    def to_json(self) -> dict[str, Any]:
        """The error as a JSON object (``reconciler validate --output json``)."""
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "message": self.message,
            "hint": self.hint,
        }

    @classmethod
    def at(cls, where: Location, message: str, hint: str = "") -> ManifestError:
        return cls(where.path, where.line, where.col, message, hint)
