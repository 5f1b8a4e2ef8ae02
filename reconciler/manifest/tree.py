"""Which files make up a manifest tree.

Manifests live in folders of any depth in a git checkout. Walking one must be predictable
(sorted, hidden files and folders skipped, only ``.yaml``/``.yml``) and must not be tricked by
links: a link that loops is reported instead of walked, and one that leads outside the folder
that was asked for is refused, so a pull request cannot pull in files from elsewhere on disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from reconciler.manifest.errors import ManifestError

SUFFIXES: Final = (".yaml", ".yml")


def discover(path: Path) -> Iterator[Path | ManifestError]:
    """The manifest files under ``path``, in a stable order, or errors about the tree itself.

    Hidden files and folders are skipped. Symbolic links are followed only when they stay inside
    the root that was asked for, and a link that leads back up the tree is reported, not walked.
    """
    if not os.path.lexists(path):
        yield ManifestError(str(path), 1, 1, "no such file or directory", "check the path")
        return
    try:
        root = path.resolve(strict=True)
    except (OSError, RuntimeError):
        yield _link_loop(path)
        return
    if root.is_file():
        yield path
        return
    yield from _walk(path, root, root, {root})


def _walk(
    directory: Path, real: Path, root: Path, ancestors: set[Path]
) -> Iterator[Path | ManifestError]:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as exc:
        yield ManifestError(
            str(directory), 1, 1, f"cannot read directory: {exc.strerror}", "check permissions"
        )
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        shown = directory / entry.name
        target = real / entry.name
        if entry.is_symlink():
            try:
                target = shown.resolve(strict=True)
            except (OSError, RuntimeError):
                yield _link_loop(shown)
                continue
            if not target.is_relative_to(root):
                yield ManifestError(
                    str(shown),
                    1,
                    1,
                    "symbolic link points outside the manifest root",
                    f"keep manifests under {root}; copy the file here instead of linking to it",
                )
                continue
        if target.is_dir():
            if target in ancestors:
                yield _link_loop(shown)
                continue
            yield from _walk(shown, target, root, ancestors | {target})
        elif entry.name.endswith(SUFFIXES) and target.is_file():
            yield shown


def _link_loop(path: Path) -> ManifestError:
    return ManifestError(
        str(path),
        1,
        1,
        "symbolic link loop",
        "point the link at a file or folder, not at itself or a parent",
    )
