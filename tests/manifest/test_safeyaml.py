"""The YAML reader: hostile input is refused cleanly, ordinary YAML reads as YAML 1.1 does."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.manifest import load
from reconciler.manifest.errors import ManifestError
from reconciler.manifest.safeyaml import Document, decode, documents


def values(text: str) -> list[Any]:
    found = list(documents(text, "x.yaml"))
    assert all(isinstance(item, Document) and not item.errors for item in found), found
    return [item.value for item in found if isinstance(item, Document)]


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [x, 'y', \"z\"]\nc: {d: e}\n",
        "n: [0x1f, 0o17, 017, 0b101, -12, +7, 1_000, '1:30', 1:30]\n",
        "f: [1.5, -.inf, .NaN, 6.02e+23, 1_0.5]\n",
        "b: [yes, No, on, OFF, true, False, y, n]\n",
        "z: [~, null, '', \"\"]\n",
        "t: [2020-01-02, 2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10]\n",
        "s: |\n  two\n  lines\nfolded: >\n  one\n  line\n",
        "u: [María, 東京, 😀]\n",
    ],
)
def test_scalars_read_like_pyyaml_safe_load(text: str) -> None:
    """Plain scalars resolve to the same values PyYAML's safe loader gives (NaN aside)."""
    [ours] = values(text)
    theirs = yaml.safe_load(text)
    assert repr(ours) == repr(theirs)


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    """Some editors on Windows write a BOM; it is not part of the first key."""
    text, error = decode("\ufeffa: 1\n".encode(), "x.yaml")
    assert error is None
    assert values(text or "") == [{"a": 1}]


def test_dates_keep_their_type_for_a_kind_message() -> None:
    """An unquoted date stays a date, so the error can say so."""
    assert values("d: 2020-06-01\n") == [{"d": date(2020, 6, 1)}]


HOSTILE = {
    "flow": "[" * 200_000 + "]" * 200_000,
    "block": "- " * 200_000 + "x\n",
    "keys": "? " * 200_000 + "x\n",
    "mixed": "a:\n  - " + "{a: [" * 50_000 + "]}" * 50_000 + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_nesting_that_would_crash_the_c_parser_is_refused(tmp_path: Path, name: str) -> None:
    """Hundreds of thousands of nesting levels are an error, not a crashed process.

    The load runs in a child process so that a regression shows up as a failure, not as the
    test run dying.
    """
    path = tmp_path / "deep.yaml"
    path.write_text(HOSTILE[name])
    code = (
        "import sys; from reconciler.manifest import load; "
        "r = load([sys.argv[1]]); print(r.errors[0].message if r.errors else 'ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "nesting is deeper than 64 levels"


def _nested(block: int, flow: int) -> str:
    """``block`` block mappings, one a line, holding ``flow`` flow sequences, one a line."""
    keys = "".join(" " * level + "k:\n" for level in range(block))
    return keys + (" " * block + "[\n") * flow + "]" * flow + "\n"


@pytest.mark.parametrize(
    ("block", "flow"),
    [
        (0, 65),  # just past our limit
        (0, 999),  # just under libyaml's own limit (PyYAML 6.0.4 and later)
        (0, 1_001),  # past it: libyaml refuses while scanning ahead
        (200, 900),  # past it only in sum, and under our cheap pre-check's bound
        (30, 5_000),
    ],
)
def test_too_deep_is_located_whatever_libyaml_limits_itself_to(block: int, flow: int) -> None:
    """Our own message at the 65th level, whether or not libyaml stops on a limit of its own.

    Releases of PyYAML up to 6.0.3 bundle a libyaml without a nesting limit; 6.0.4 and later
    stop at 1,000 levels with their own message. Depths on both sides of that limit, reached
    through both the pre-check and the composer, must read the same to the user: level n
    starts on line n, in the column after the block keys that hold it.
    """
    found = list(documents(_nested(block, flow), "deep.yaml"))
    errors = [item for item in found if isinstance(item, ManifestError)] + [
        error for item in found if isinstance(item, Document) for error in item.errors
    ]
    assert [(e.line, e.col, e.message) for e in errors] == [
        (65, min(block, 64) + 1, "nesting is deeper than 64 levels")
    ]


def test_errors_in_many_documents_are_all_reported(tmp_path: Path) -> None:
    """A broken document does not hide the problems of the documents after it."""
    body = "\n---\n".join(
        f"apiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {{name: g{i}}}\nspec: {{nme: x}}"
        for i in range(3)
    )
    (tmp_path / "g.yaml").write_text(body + "\n")
    errors = load([tmp_path]).errors
    assert [(e.line, e.col, e.message) for e in errors] == [
        (row, col, message)
        for row in (4, 9, 14)
        for col, message in (
            (7, "missing required field 'spec.name'"),
            (8, "unknown field 'spec.nme'"),
        )
    ]
