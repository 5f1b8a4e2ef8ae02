"""The image definition stays slim, non-root and buildable from the context it is given.

No container engine runs in the test environment, so these tests read the Dockerfile and the
.dockerignore as data: the stages, what the final stage contains and runs as, and which files of
the repository reach the build.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages and keyword == "ARG":
            key, _, default = rest.partition("=")
            args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append((keyword, rest.strip()))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((ROOT / "Dockerfile").read_text())[1]


def test_the_final_stage_is_python_311_slim(stages: list[Stage]) -> None:
    """Multi-stage build whose final image is python:3.11-slim."""
    assert len(stages) >= 2
    assert stages[-1].base == "python:3.11-slim"
    assert all(stage.base.startswith("python:3.11") for stage in stages)


def test_a_builder_stage_builds_wheels(stages: list[Stage]) -> None:
    """The first stage builds wheels of the project and its dependencies."""
    builder = stages[0]
    assert builder.name == "builder"
    assert any("pip wheel" in run for run in builder.all("RUN"))


def test_the_final_stage_installs_nothing_and_compiles_nothing(stages: list[Stage]) -> None:
    """No package manager, compiler or pip install runs in the final stage; it copies a venv."""
    final = stages[-1]
    runs = " ".join(final.all("RUN"))
    for forbidden in ("apt-get", "apk", "gcc", "build-essential", "pip install", "pip wheel"):
        assert forbidden not in runs
    copies = final.all("COPY")
    assert copies, "the final stage copies the built virtualenv"
    assert all(c.startswith("--from=") for c in copies), copies
    venv = next(s for s in stages if s.name == "venv")
    venv_runs = " ".join(venv.all("RUN"))
    assert "--no-index" in venv_runs
    assert "uninstall --yes pip" in venv_runs


def test_the_image_runs_reconciler_run_as_a_numeric_non_root_user(stages: list[Stage]) -> None:
    """USER is a numeric non-zero uid (what runAsNonRoot can check) and matches the chart."""
    final = stages[-1]
    (user,) = final.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit()
    assert int(uid) != 0
    assert gid.isdigit()
    assert int(gid) != 0
    values = (ROOT / "charts/contacts-reconciler/values.yaml").read_text()
    assert f"runAsUser: {uid}" in values
    assert f"runAsGroup: {gid}" in values
    (entrypoint,) = final.all("ENTRYPOINT")
    assert entrypoint == '["reconciler", "run"]'
    assert "8080" in final.all("EXPOSE")[0]
    assert "8081" in final.all("EXPOSE")[0]


def dockerignore_allows(patterns: list[str], path: str) -> bool:
    """Whether the build context includes ``path`` (the last matching pattern wins).

    A pattern that matches a parent folder matches everything below it, as in Docker.
    """

    def regex(pattern: str) -> re.Pattern[str]:
        out = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out += "(.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                out += ".*"
                i += 2
            elif pattern[i] == "*":
                out += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                out += "[^/]"
                i += 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                out += pattern[i : end + 1]
                i = end + 1
            else:
                out += re.escape(pattern[i])
                i += 1
        return re.compile(out + "$")

    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        cleaned = pattern.lstrip("!").strip("/")
        if any(regex(cleaned).match(c) for c in candidates):
            included = negated
    return included


@pytest.fixture(scope="module")
def context() -> set[str]:
    """The repository files (tracked or not, minus .gitignore'd) that reach a docker build."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {path for path in listed if dockerignore_allows(patterns, path)}


def test_the_context_holds_what_the_build_copies(stages: list[Stage], context: set[str]) -> None:
    """Every COPY source of the builder exists in the context, with the readme pyproject names."""
    sources = []
    for copy in stages[0].all("COPY"):
        words = shlex.split(copy)
        sources += [w for w in words[:-1] if not w.startswith("--")]
    for source in sources:
        assert any(p == source or p.startswith(source + "/") for p in context), source
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["readme"] in context
    assert "reconciler/__init__.py" in context
    assert "reconciler/cli/__init__.py" in context


def test_the_context_leaves_out_everything_else(context: set[str]) -> None:
    """Tests, the chart, docs, git metadata, caches and local state never reach the build."""
    assert context, "the context is empty"
    for path in context:
        assert path in {"pyproject.toml", "README.md"} or path.startswith("reconciler/"), path
        assert "__pycache__" not in path
        assert not path.endswith((".pyc", ".sqlite3"))


@pytest.mark.parametrize(
    ("path", "included"),
    [
        ("reconciler/cli/__init__.py", True),
        ("reconciler/controller/__pycache__/x.pyc", False),
        ("tests/test_quality.py", False),
        (".git/config", False),
        ("charts/contacts-reconciler/values.yaml", False),
        ("pyproject.toml", True),
    ],
)
def test_the_dockerignore_matcher_follows_docker_rules(path: str, included: bool) -> None:
    """The matcher used above agrees with Docker on the allowlist idiom this file uses."""
    patterns = ["*", "!pyproject.toml", "!reconciler/", "**/__pycache__"]
    assert dockerignore_allows(patterns, path) is included
