"""Each shared term of the package is defined in exactly one module.

A concept written down twice drifts: two stamp readers once disagreed about which of two
``reconciler.name`` entries counts, so a prune was planned under one name and skipped under the
other. These tests keep the single definitions single.
"""

from __future__ import annotations

import ast
from pathlib import Path

from reconciler.model import stamps

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"


def sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(PACKAGE.rglob("*.py"))}


def test_stamp_keys_are_spelled_only_in_the_stamps_module() -> None:
    """No module but ``model/stamps.py`` spells a ``clientData`` stamp key (not even in a
    docstring): everything else reads and writes stamps through that module."""
    home = Path(stamps.__file__).resolve()
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {key}"
        for path, text in sources().items()
        if path != home
        for number, line in enumerate(text.splitlines(), start=1)
        for key in sorted(stamps.STAMP_KEYS)
        if key in line
    ]
    assert not found, "stamp keys outside reconciler/model/stamps.py:\n" + "\n".join(found)


def assigned_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def test_shared_names_are_defined_once() -> None:
    """Annotation names (every ``*_ANNOTATION``), the singleton fields, the ``Person`` alias, the
    stamp keys (every ``*_KEY``) and the clock protocol each have one module-level definition
    in the package (others import it)."""
    shared = {
        "PRUNE_ANNOTATION",
        "ADOPT_ANNOTATION",
        "SUSPEND_ANNOTATION",
        "SINGLETON_FIELDS",
        "SINGLETONS",
        "Person",
        "Clock",
        "OWNER_KEY",
        "NAME_KEY",
    }
    homes: dict[str, list[str]] = {}
    for path, text in sources().items():
        tree = ast.parse(text)
        classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
        defined = assigned_names(tree) | (classes & {"Clock"})
        for name in {n for n in defined if n in shared or n.endswith(("_ANNOTATION", "_KEY"))}:
            homes.setdefault(name, []).append(str(path.relative_to(PACKAGE.parent)))
    twice = {name: where for name, where in homes.items() if len(where) > 1}
    assert not twice, f"defined in more than one module: {twice}"
