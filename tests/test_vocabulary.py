"""Each shared term of the package is defined in exactly one module.

A concept written down twice drifts: two stamp readers once disagreed about which of two
``reconciler.name`` entries counts, so a prune was planned under one name and skipped under the
other. These tests keep the single definitions single.
"""

from __future__ import annotations

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
