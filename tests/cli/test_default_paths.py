"""plan and validate read the same files by default, and leave out what is not a manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.manifest.ignore import parse_ignore


def contact(name: str) -> str:
    return (
        f"apiVersion: reconciler/v1\nkind: Contact\nmetadata: {{name: {name}}}\n"
        f"spec:\n  emailAddresses: [{name}@example.com]\n"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with manifests beside a Helm chart, a CI file and example YAML."""
    (tmp_path / "people").mkdir()
    (tmp_path / "contacts.yaml").write_text(contact("ann"))
    (tmp_path / "people" / "bob.yaml").write_text(contact("bob"))
    chart = tmp_path / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (chart / "templates" / "deploy.yaml").write_text("replicas: {{ .Values.replicas }}\n")
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "pipeline.yml").write_text("steps:\n  - run: make\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "example.yaml").write_text("kind: Contact\nbroken: [\n")
    (tmp_path / ".reconcilerignore").write_text("# not manifests\nci/\nexample.yaml\n")
    return tmp_path


def run_in(cwd: Path, *args: str) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def test_validate_and_plan_default_to_the_same_files(repo: Path) -> None:
    """Without a path both read the current directory: two manifests, no chart, no CI file."""
    validated = run_in(repo, "validate", "-o", "json")
    assert validated.exit_code == 0, validated.output
    report = json.loads(validated.stdout)
    assert (report["contacts"], report["files"]) == (2, 2)
    planned = run_in(repo, "plan", "--state-dir", str(repo / ".state"))
    assert planned.exit_code == 0, planned.output
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in planned.stdout


def test_a_file_named_on_the_command_line_is_always_read(repo: Path) -> None:
    """The rules only leave files out of folders: an ignored file given by name is read."""
    result = run_in(repo, "validate", "docs/example.yaml")
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("ci/", "ci", True, True),
        ("ci/", "ci", False, False),  # folders only
        ("*.ci.yml", "deep/down/build.ci.yml", False, True),
        ("/ci/*.yaml", "ci/a.yaml", False, True),
        ("/ci/*.yaml", "x/ci/a.yaml", False, False),  # anchored to the folder
        ("docs/examples", "docs/examples", True, True),
        ("# comment", "# comment", False, False),
        ("!keep.yaml", "keep.yaml", False, False),  # negation is not supported
    ],
)
def test_ignore_patterns(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    """gitignore's basic syntax: folders-only, anchored and name patterns."""
    assert parse_ignore(pattern)(path, is_dir) is ignored
