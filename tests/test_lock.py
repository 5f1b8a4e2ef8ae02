"""The test environment is locked, and the lock, the README and CI agree.

A lock that misses a dependency, or pins a version the package's own ranges refuse, lets pip
choose a release on its own again; a README command that CI does not run is not tested.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "test.txt"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)")


def locked() -> dict[str, str]:
    found = {}
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match[1])] = match[2]
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + project["optional-dependencies"]["test"]
    return [Requirement(name) for name in names]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    """Each runtime and test dependency has one exact version, inside the declared range."""
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {LOCK.name}: regenerate the lock (README)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier}"
        )


def test_ci_runs_the_readme_test_command_through_the_lock() -> None:
    """The README's test command installs through the lock, and .ci/run runs it verbatim."""
    readme = (ROOT / "README.md").read_text()
    command = next(
        line for line in readme.splitlines() if "python -m pytest" in line and "pip" in line
    )
    assert "-c requirements/test.txt" in command
    assert command in (ROOT / ".ci" / "run").read_text()
