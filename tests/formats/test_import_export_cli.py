"""The whole trip through the real CLI and the emulator over HTTP.

A Google Contacts CSV with tricky rows and the vCard examples of RFC 2426 and RFC 6350 are
imported, validated, applied, and exported back in every format; importing each export and
planning against the same address book says "No changes", and every format gives the same
manifests as the YAML export.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.emulator import BackgroundServer
from reconciler.manifest import load

DATA = Path(__file__).parent / "data"
SOURCES = ["google-tricky.csv", "rfc2426-examples.vcf", "rfc6350-example.vcf"]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def target(server: BackgroundServer) -> list[str]:
    return ["--target", server.url, "--token", "user:admin@example.com"]


def tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.yaml"))
    }


def test_import_validate_apply_export_and_back_with_no_changes(
    emulator_server: BackgroundServer, tmp_path: Path
) -> None:
    """Every format's export imports back to the very manifests, and plans to no changes."""
    sources = [str(shutil.copy(DATA / name, tmp_path / name)) for name in SOURCES]
    manifests = tmp_path / "manifests"
    imported = run("import", *sources, "--out", str(manifests), "--label", "source=import")
    assert imported.exit_code == 0, imported.output
    assert "imported 7 contacts and 3 groups" in imported.stdout
    validated = run("validate", str(manifests))
    assert validated.exit_code == 0, validated.output
    applied = run("apply", "--auto-approve", *target(emulator_server), str(manifests))
    assert applied.exit_code == 0, applied.output
    planned = run("plan", *target(emulator_server), str(manifests))
    assert "No changes." in planned.stdout, planned.output

    yaml_out = tmp_path / "exported-yaml"
    exported = run("export", *target(emulator_server), "--out", str(yaml_out), "--layout", "group")
    assert exported.exit_code == 0, exported.output
    assert tree(yaml_out).keys() == tree(manifests).keys()
    # labels come back from the stamp; only the adoption marks are gone (the contacts are ours)
    for text in tree(yaml_out).values():
        assert text.startswith("# yaml-language-server: $schema=")
    assert all(c.labels == {"source": "import"} for c in load([yaml_out]).contacts)
    planned = run("plan", *target(emulator_server), str(yaml_out))
    assert "No changes." in planned.stdout, planned.output

    for fmt, suffix in (("google-csv", "csv"), ("vcard", "vcf")):
        exported_file = tmp_path / f"exported.{suffix}"
        exported = run(
            "export", *target(emulator_server), "--format", fmt, "--out", str(exported_file)
        )
        assert exported.exit_code == 0, exported.output
        again = tmp_path / f"again-{fmt}"
        reimported = run("import", str(exported_file), "--out", str(again))
        assert reimported.exit_code == 0, reimported.output
        planned = run("plan", "--detailed-exitcode", *target(emulator_server), str(again))
        assert planned.exit_code == 0, planned.output
        assert "No changes." in planned.stdout
        # the server split names given whole (FN: Frank Dawson), so compare with what is live
        assert tree(again) == tree(yaml_out), fmt


def test_bad_rows_write_nothing(tmp_path: Path) -> None:
    """One bad cell anywhere: every error is printed at file:row:column and --out stays empty."""
    bad = shutil.copy(DATA / "google-bad.csv", tmp_path / "bad.csv")
    good = shutil.copy(DATA / "google-tricky.csv", tmp_path / "good.csv")
    out = tmp_path / "manifests"
    result = run("import", str(good), str(bad), "--out", str(out))
    assert result.exit_code == 1
    assert f"{bad}:3:5: emailAddresses.0.value" in result.stderr
    assert f"{bad}:4:7: phoneNumbers.0.value" in result.stderr
    assert f"{bad}:5:8: birthdays.0.date" in result.stderr
    assert "3 errors in the input: nothing was written" in result.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_import_adopts_one_live_contact(emulator_server: BackgroundServer, tmp_path: Path) -> None:
    """import people/cNNN --name writes its manifest and stamps it: the next plan is empty."""
    created = httpx.post(
        f"{emulator_server.url}/v1/people:createContact",
        headers={"Authorization": "Bearer user:admin@example.com"},
        json={
            "names": [{"givenName": "Jane", "familyName": "Doe"}],
            "emailAddresses": [{"value": "jane@example.com"}],
            "phoneNumbers": [{"value": "+1 650 555 0100", "type": "mobile"}],
        },
        timeout=30,
    ).json()
    out = tmp_path / "manifests"
    result = run(
        "import", created["resourceName"], "--name", "jane-doe", "--out", str(out),
        *target(emulator_server),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = out / "contacts" / "jane-doe.yaml"
    loaded = load([out])
    assert loaded.ok
    assert [c.name for c in loaded.contacts] == ["jane-doe"]
    assert "reconciler/adopt" not in manifest.read_text()  # adopted by stamp, not by email
    planned = run("plan", "--detailed-exitcode", *target(emulator_server), str(out))
    assert planned.exit_code == 0, planned.output
    again = run(
        "import", created["resourceName"], "--name", "other", "--out", str(tmp_path / "x"),
        *target(emulator_server),
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already managed" in again.stderr
