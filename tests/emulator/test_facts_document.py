"""The People API facts live in the repository, and code that cites them points there.

docs/people-api.md is the project's reference of what it believes about Google's People API,
with a source for each fact; comments and docstrings cite it by path and section. A citation
of a document that is not in the repository, or of a section it does not have, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FACTS = ROOT / "docs" / "people-api.md"
CITATION = re.compile(r"(\S*)people-api\.md(?:\W{1,3}\"([^\"]+)\")?")


def test_every_citation_points_at_the_document_and_an_existing_section() -> None:
    """Each mention of people-api.md in the code and tests is docs/people-api.md, and a quoted
    section name after it is one of the document's headings."""
    headings = {
        line.lstrip("#").strip().split(" (")[0]
        for line in FACTS.read_text().splitlines()
        if line.startswith("## ")
    }
    cited = 0
    for path in [*ROOT.glob("reconciler/**/*.py"), *ROOT.glob("tests/**/*.py")]:
        if path == Path(__file__):
            continue
        for match in CITATION.finditer(path.read_text()):
            prefix, section = match.groups()
            assert prefix.endswith("docs/"), f"{path}: cites {match.group(0)!r}"
            if section:
                section = " ".join(section.split())
                assert section in headings, f"{path}: no section {section!r}"
            cited += 1
    assert cited > 10


def test_the_document_gives_sources_for_what_it_has_seen() -> None:
    """Every section that reports something seen in real responses names where."""
    text = FACTS.read_text()
    assert "https://github.com/" in text
    for section in ("System contact groups", "Errors and quotas", "Etags and consistency"):
        assert f"## {section}" in text
