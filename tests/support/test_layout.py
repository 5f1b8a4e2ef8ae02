"""Test modules share code only through ``tests/support``.

A helper imported from another test module (or a ``conftest.py``) ties two test files together:
collecting one runs the other's module code, and a change to one breaks the other from afar.
Shared builders, fakes and harnesses live in ``tests/support``; fixtures stay in ``conftest.py``
files, where pytest finds them without an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
SUPPORT = TESTS / "support"


def imported_names(source: str, package: str) -> list[tuple[int, str]]:
    """``(line, dotted name)`` of everything ``source`` imports, as seen from ``package``
    (relative imports resolved)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def from_other_tests(source: str, package: str) -> list[tuple[int, str]]:
    """The imports of ``source`` that reach into ``tests`` anywhere but ``tests.support``."""
    return [
        (line, name)
        for line, name in imported_names(source, package)
        if (name == "tests" or name.startswith("tests.")) and not name.startswith("tests.support.")
    ]


def test_no_test_module_imports_another() -> None:
    """Outside ``tests/support``, nothing under ``tests/`` imports from ``tests`` except
    ``tests.support``."""
    offences = []
    for path in sorted(TESTS.rglob("*.py")):
        if SUPPORT in path.parents:
            continue
        package = ".".join(path.relative_to(TESTS.parent).parts[:-1])
        for line, name in from_other_tests(path.read_text(encoding="utf-8"), package):
            offences.append(f"{path.relative_to(TESTS.parent)}:{line}: imports {name}")
    assert not offences, "import shared code from tests/support instead:\n" + "\n".join(offences)


def test_relative_absolute_and_plain_imports_are_all_seen() -> None:
    """``from .conftest import x``, ``from tests.a.b import y`` and ``import tests.a.test_c``
    are each caught; ``tests.support`` and the package itself are not."""
    source = (
        "from .conftest import render\n"
        "from tests.core.factories import person\n"
        "import tests.apply.test_conflicts\n"
        "from tests.support.manifests import book\n"
        "from reconciler.model import read_stamp\n"
    )
    assert from_other_tests(source, "tests.deploy") == [
        (1, "tests.deploy.conftest.render"),
        (2, "tests.core.factories.person"),
        (3, "tests.apply.test_conflicts"),
    ]
