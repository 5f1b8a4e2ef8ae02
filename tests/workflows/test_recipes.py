"""The pre-commit hook and the GitHub Actions recipe, checked with the real tools, offline.

The hook runs under the real ``pre-commit`` against a sample git repository. Its definition is
read from this repository's ``.pre-commit-hooks.yaml`` and run as a ``repo: local`` hook with
the command already installed here: with ``language: python`` pre-commit would first build a
virtualenv from a package index, and the suite needs no network. Everything else (entry, file
filter, pass_filenames, args) is the offered hook's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
WORKFLOW = ROOT / "examples" / "github-actions" / "contacts.yml"

GROUP = (
    "apiVersion: reconciler/v1\nkind: ContactGroup\nmetadata: {name: sales}\nspec: {name: Sales}\n"
)
CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
    "spec:\n  emailAddresses: [ann@example.com]\n  groups: [sales]\n"
)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A git repository with valid manifests, a CI file, and the offered hook configured."""
    if shutil.which("git") is None:  # pragma: no cover - git is part of the test machine
        pytest.skip("git is not installed")
    repo = tmp_path / "address-book"
    (repo / "manifests").mkdir(parents=True)
    (repo / "manifests" / "groups.yaml").write_text(GROUP)
    (repo / "manifests" / "ann.yaml").write_text(CONTACT)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n")
    (hook,) = [h for h in yaml.safe_load(HOOKS.read_text()) if h["id"] == "reconciler-validate"]
    local = {**hook, "language": "system"}  # the only change: use the installed command
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    git(repo, "add", ".")
    return repo


def test_the_offered_hook_is_what_the_readme_promises() -> None:
    """One hook, reconciler-validate, over the whole tree (cross-file checks need it)."""
    hooks = yaml.safe_load(HOOKS.read_text())
    assert [h["id"] for h in hooks] == ["reconciler-validate"]
    assert hooks[0]["entry"] == "reconciler validate"
    assert hooks[0]["pass_filenames"] is False
    assert hooks[0]["language"] == "python"


def test_the_hook_passes_valid_manifests_and_stops_a_bad_one(sample: Path) -> None:
    """pre-commit runs the hook: valid manifests pass; a bad one fails at file:line:col."""
    passed = pre_commit(sample, "run", "reconciler-validate", "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "reconciler validate" in passed.stdout
    assert "Passed" in passed.stdout
    (sample / "manifests" / "ann.yaml").write_text(CONTACT.replace("[sales]", "[sale]"))
    git(sample, "add", ".")
    failed = pre_commit(sample, "run", "reconciler-validate", "--all-files")
    assert failed.returncode == 1
    assert "manifests/ann.yaml:6:12: group 'sale' is not defined" in failed.stdout
    assert "did you mean 'sales'?" in failed.stdout


def test_the_workflow_recipe_is_a_valid_github_workflow() -> None:
    """Checked against the GitHub workflow schema that check-jsonschema vendors (no network)."""
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(WORKFLOW)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_posts_a_redacted_plan_once_and_applies_the_reviewed_one() -> None:
    """One comment found by its hidden marker; --redact; the saved plan encrypted and applied."""
    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    plan_steps = workflow["jobs"]["plan"]["steps"]
    apply_steps = workflow["jobs"]["apply"]["steps"]
    plan_run = next(s["run"] for s in plan_steps if s.get("name") == "Plan")
    assert "--output markdown --redact" in plan_run
    assert '--out "$RUNNER_TEMP/plan.json"' in plan_run
    script = next(s["with"]["script"] for s in plan_steps if "github-script" in s.get("uses", ""))
    assert "<!-- reconciler-plan -->" in script
    assert "updateComment" in script
    uploaded = next(s for s in plan_steps if "upload-artifact" in s.get("uses", ""))
    assert uploaded["with"]["path"] == "plan.json.enc"
    applied = apply_steps[-1]["run"]
    assert 'reconciler apply --auto-approve "$RUNNER_TEMP/plan.json"' in applied
    # The apply runs in the merged checkout, where the manifests the plan names are compared.
    assert any("actions/checkout" in s.get("uses", "") for s in apply_steps)
    assert "cat " not in text  # the saved plan is never printed
