"""``reconciler validate`` and ``reconciler schema`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.manifest.json_schema import render_schema

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).parent / "bad"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_defaults_to_the_manifests_folder(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no path, manifests/ is validated and a one-line summary printed; exit 0."""
    monkeypatch.chdir(ROOT)
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "valid: 20 contacts, 4 groups, 6 files\n"
    assert result.stderr == ""


def test_validate_reports_each_error_with_its_hint_on_stderr(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Errors go to stderr as path:line:col: message, then a hint; exit 1."""
    monkeypatch.chdir(BAD)
    result = runner.invoke(main, ["validate", "unknown-field.yaml", "two-names.yaml"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "two-names.yaml:7:5: 'spec.names' accepts at most one entry, got 2\n"
        "  hint: a contact has a single names entry; keep one\n"
        "unknown-field.yaml:7:3: unknown field 'spec.emial'\n"
        "  hint: did you mean 'emailAddresses'?\n"
        "invalid: 2 errors in 0 contacts, 0 groups, 2 files\n"
    )


def test_validate_json_output_is_for_machines(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--output json prints one object with the counts and every located error."""
    monkeypatch.chdir(BAD)
    result = runner.invoke(main, ["validate", "--output", "json", "norway-problem.yaml"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report == {
        "ok": False,
        "contacts": 0,
        "groups": 0,
        "files": 1,
        "errors": [
            {
                "path": "norway-problem.yaml",
                "line": 8,
                "col": 20,
                "message": "'spec.addresses.0.countryCode' must be a string, got the boolean false",
                "hint": "YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value",
            }
        ],
    }


def test_validate_reads_the_default_region_from_the_environment(
    runner: CliRunner, tmp_path: Path
) -> None:
    """RECONCILER_DEFAULT_REGION sets the region national phone numbers are read in."""
    (tmp_path / "c.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
        "spec: {phoneNumbers: ['020 7946 0555']}\n"
    )
    assert runner.invoke(main, ["validate", str(tmp_path)]).exit_code == 1
    result = runner.invoke(
        main, ["validate", str(tmp_path)], env={"RECONCILER_DEFAULT_REGION": "GB"}
    )
    assert result.exit_code == 0, result.output


def test_schema_writes_the_json_schema(runner: CliRunner, tmp_path: Path) -> None:
    """`reconciler schema` prints the schema; --out writes it to a file."""
    printed = runner.invoke(main, ["schema"])
    assert printed.exit_code == 0
    assert printed.stdout == render_schema()
    out = tmp_path / "schema.json"
    written = runner.invoke(main, ["schema", "--out", str(out)])
    assert written.exit_code == 0
    assert out.read_text(encoding="utf-8") == render_schema()


def test_an_unknown_default_region_is_a_usage_error(runner: CliRunner) -> None:
    """A region phone numbers cannot be read in is refused before anything is loaded."""
    result = runner.invoke(main, ["validate", "--default-region", "XX", str(ROOT / "manifests")])
    assert result.exit_code == 2
    assert "unknown region 'XX'" in result.stderr
