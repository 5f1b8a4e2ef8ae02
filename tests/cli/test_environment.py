"""Environment variables of import and export mean what they mean there, and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import main

CONTACT = (
    "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
    "spec:\n  emailAddresses: [ann@example.com]\n"
)


def run_in(cwd: Path, *args: str, env: dict[str, str]) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    finally:
        os.chdir(old)


def test_the_plan_file_in_the_environment_does_not_redirect_export(tmp_path: Path) -> None:
    """RECONCILER_PLAN_OUT saves plans, and leaves export writing into manifests/."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ann.yaml").write_text(CONTACT)
    env = {
        "RECONCILER_PLAN_OUT": "plan.json",
        "RECONCILER_OUT": "plan.json",  # the old name: read by no command now
        "RECONCILER_STATE": str(tmp_path / "s.db"),
    }
    planned = run_in(tmp_path, "plan", "in", env=env)
    assert planned.exit_code == 0, planned.output
    assert (tmp_path / "plan.json").is_file()
    exported = run_in(tmp_path, "export", env=env)
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "manifests").is_dir()


def test_export_and_import_read_their_own_variables(tmp_path: Path) -> None:
    """RECONCILER_EXPORT_OUT and RECONCILER_EXPORT_FORMAT steer export, and only export."""
    env = {
        "RECONCILER_STATE": str(tmp_path / "s.db"),
        "RECONCILER_EXPORT_FORMAT": "vcard",
        "RECONCILER_EXPORT_OUT": "book.vcf",
        "RECONCILER_IMPORT_OUT": "imported",
    }
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ann.yaml").write_text(CONTACT)
    applied = run_in(tmp_path, "apply", "--auto-approve", "in", env=env)
    assert applied.exit_code == 0, applied.output
    exported = run_in(tmp_path, "export", env=env)
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "book.vcf").read_text().startswith("BEGIN:VCARD")
    imported = run_in(tmp_path, "import", "book.vcf", env=env)
    assert imported.exit_code == 0, imported.output
    assert (tmp_path / "imported" / "contacts" / "_ungrouped.yaml").is_file()
