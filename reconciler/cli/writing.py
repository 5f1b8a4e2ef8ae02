"""Writing manifests into a folder so that a bad result never lands half-written.

``import`` and ``export`` build every file first, write them into a scratch folder beside the
destination, load that folder with the same loader ``validate`` uses, and only move the files
into place when it has no error. The schema editors read (``.schema/reconciler-v1.json``,
hidden so the loader never walks it) is written with them, and every YAML file points at it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import click

from reconciler.formats.layout import SCHEMA_FILE


def refuse_non_empty(out: Path, force: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise click.UsageError(f"{out} is not empty; choose another --out or pass --force")


def write_tree(out: Path, files: Mapping[str, str], *, default_region: str) -> list[Path]:
    """Write ``files`` (relative path -> text) under ``out`` once they load without error."""
    from reconciler.manifest import load
    from reconciler.manifest.json_schema import render_schema

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".reconciler-") as scratch:
        root = Path(scratch)
        everything = {**files, SCHEMA_FILE: render_schema()}
        for relative, text in everything.items():
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(text, encoding="utf-8")
        loaded = load([root], default_region=default_region)
        if not loaded.ok:
            for error in loaded.errors:
                click.echo(str(error).replace(str(root), str(out)), err=True)
            raise click.ClickException("the manifests would not validate; nothing was written")
        written = []
        for relative in everything:
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(root / relative, target)
            if relative != SCHEMA_FILE:
                written.append(target)
    return written
