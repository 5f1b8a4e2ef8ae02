"""Which files make up a manifest tree.

Manifests live in folders of any depth in a git checkout. Walking one must be predictable
(sorted, hidden files and folders skipped, only ``.yaml``/``.yml``) and must not be tricked by
links: a link that loops is reported instead of walked, and one that leads outside the folder
that was asked for is refused, so a pull request cannot pull in files from elsewhere on disk.
The walk starts from a pinned path (:mod:`reconciler.manifest.revision`) and never goes through
the path as given again, so one walk sees one revision.
What is not a manifest (a Helm chart, what ``.reconcilerignore`` lists) is left out by the
rules of :mod:`reconciler.manifest.ignore`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reconciler.manifest.errors import ManifestError
from reconciler.manifest.ignore import Ignore, is_chart, read_ignore
from reconciler.manifest.revision import Pin, pin

SUFFIXES: Final = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Found:
    """A manifest file: ``shown`` under the path the user gave (for errors), ``real`` where it
    is read from, beneath the pinned directory (so a link repointed meanwhile changes nothing)."""

    shown: Path
    real: Path


def discover(pinned: Pin) -> Iterator[Found | ManifestError]:
    """The manifest files under a pinned path, in a stable order, or errors about the tree.

    Hidden files and folders are skipped, and so are Helm charts and what the root's
    ``.reconcilerignore`` lists. Symbolic links are followed only when they stay inside the
    pinned root, and a link that leads back up the tree is reported, not walked. Everything is
    listed and resolved beneath ``pinned.real``, never through ``pinned.given`` again.
    """
    path, root = pinned.given, pinned.real
    if root is None:
        if not os.path.lexists(pinned.anchor):
            yield ManifestError(str(path), 1, 1, "no such file or directory", "check the path")
        else:
            yield _link_loop(path)
        return
    if root.is_file():
        yield Found(path, root)
        return
    yield from _walk(path, root, root, {root}, _Skip(path, read_ignore(root)))


class _Skip:
    """What a walk leaves out: the root's ``.reconcilerignore`` patterns, and charts."""

    def __init__(self, given: Path, ignore: Ignore) -> None:
        self.given = given
        self.ignore = ignore

    def __call__(self, shown: Path, target: Path, is_dir: bool) -> bool:
        relative = shown.relative_to(self.given).as_posix()
        return self.ignore(relative, is_dir) or (is_dir and is_chart(target))


def _walk(
    directory: Path, real: Path, root: Path, ancestors: set[Path], skip: _Skip
) -> Iterator[Found | ManifestError]:
    try:
        entries = sorted(os.scandir(real), key=lambda entry: entry.name)
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
                target = target.resolve(strict=True)
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
        is_dir = target.is_dir()
        if skip(shown, target, is_dir):
            continue
        if is_dir:
            if target in ancestors:
                yield _link_loop(shown)
                continue
            yield from _walk(shown, target, root, ancestors | {target}, skip)
        elif entry.name.endswith(SUFFIXES) and target.is_file():
            yield Found(shown, target)


def signature(paths: Sequence[Path]) -> bytes:
    """What a load of ``paths`` would read now, in 16 bytes, without reading any file: where
    each path leads, and the name and stat identity (inode, size, modification and change
    times) of every manifest file the walk finds. Two signatures differ when a file was added,
    removed, renamed, replaced or written in between; only a write that keeps the size within
    the file system's timestamp resolution goes unseen. Cheap enough to take for every account
    of a replica, so that a change nobody watched can be noticed afterwards."""
    digest = hashlib.blake2b(digest_size=16)
    for given in paths:
        pinned = pin(Path(given))
        digest.update(f"{given}\0{pinned.real}\0".encode(errors="surrogateescape"))
        for item in discover(pinned):
            if isinstance(item, ManifestError):
                digest.update(f"{item}\0".encode(errors="surrogateescape"))
                continue
            try:
                stat = os.stat(item.real)
                identity = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
            except OSError:  # gone since the walk listed it
                identity = None
            digest.update(f"{item.shown}\0{identity}\0".encode(errors="surrogateescape"))
    return digest.digest()


def _link_loop(path: Path) -> ManifestError:
    return ManifestError(
        str(path),
        1,
        1,
        "symbolic link loop",
        "point the link at a file or folder, not at itself or a parent",
    )
