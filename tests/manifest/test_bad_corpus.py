"""Every bad manifest in ``tests/manifest/bad/`` is reported at the exact place, with a hint.

Each corpus entry (a file, or a folder for problems that span files) states what the loader
must say about it in ``# expect: LINE:COL: MESSAGE`` comments, so the corpus documents the
loader's messages and a change to any of them shows up in review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifest import load

BAD = Path(__file__).parent / "bad"
ENTRIES = sorted(entry.name for entry in BAD.iterdir())
EXPECT = "# expect: "

Expected = tuple[str, int, int, str]


def expected(entry: Path) -> list[Expected]:
    """The errors an entry's ``# expect:`` comments announce, as (path, line, col, message)."""
    files = [entry] if entry.is_file() else sorted(entry.rglob("*.y*ml"))
    found = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for line in text.splitlines():
            if line.startswith(EXPECT):
                row, col, message = line.removeprefix(EXPECT).split(":", 2)
                found.append((str(path.relative_to(BAD)), int(row), int(col), message.strip()))
    return sorted(found)


def test_the_corpus_is_large_enough() -> None:
    """At least thirty distinct bad manifests, each announcing at least one error."""
    assert len(ENTRIES) >= 30
    assert all(expected(BAD / name) for name in ENTRIES)


@pytest.mark.parametrize("name", ENTRIES)
def test_each_bad_manifest_is_reported_exactly(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader reports exactly the announced errors, located, each with a hint."""
    monkeypatch.chdir(BAD)
    result = load([name])
    assert not result.ok
    got = sorted((e.path, e.line, e.col, e.message) for e in result.errors)
    assert got == expected(BAD / name)
    assert all(error.hint for error in result.errors)


def test_one_run_over_the_corpus_reports_every_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the whole corpus at once collects every error of every entry, not the first."""
    monkeypatch.chdir(BAD)
    result = load(["."])
    got = sorted((e.path, e.line, e.col, e.message) for e in result.errors)
    everything = sorted(error for name in ENTRIES for error in expected(BAD / name))
    assert got == everything
