"""Flags shared by several commands are defined once and read the same everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main


@pytest.mark.parametrize("command", ["plan", "apply", "validate"])
def test_o_is_short_for_output_everywhere(command: str) -> None:
    """``-o`` means ``--output`` in every command that has an output format."""
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "-o, --output" in result.output


def test_validate_takes_o_json(tmp_path: Path) -> None:
    """``validate -o json`` prints the machine-readable summary."""
    (tmp_path / "ann.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Contact\nmetadata: {name: ann}\n"
        "spec:\n  names: [{givenName: Ann}]\n"
    )
    result = CliRunner().invoke(main, ["validate", "-o", "json", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["contacts"] == 1
