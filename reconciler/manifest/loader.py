"""Load a tree of manifests into validated resources, collecting every error in one run.

The loader is the front door of the product: it runs in pre-commit hooks, in CI and at the start
of every reconcile, and one bad file must mean nothing is written. So it never stops at the first
problem: it reports all of them, each at ``path:line:col`` with a hint, and only a run with no
errors is usable (``LoadResult.ok``).
"""

from __future__ import annotations

import difflib
import os
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from reconciler.manifest.diagnose import node_at, translate
from reconciler.manifest.errors import Location, ManifestError
from reconciler.manifest.fields import DEFAULT_REGION, check_region
from reconciler.manifest.resources import (
    ADOPT_ANNOTATION,
    API_VERSION,
    ContactDocument,
    ContactResource,
    GroupDocument,
    GroupResource,
)
from reconciler.manifest.safeyaml import Document, decode, documents, where

MAX_FILE_BYTES: Final = 8 * 1024 * 1024
SUFFIXES: Final = (".yaml", ".yml")
KINDS: Final[dict[str, type[BaseModel]]] = {
    "Contact": ContactDocument,
    "ContactGroup": GroupDocument,
}


@dataclass
class LoadResult:
    """Everything found under the given paths; usable only when ``ok``."""

    contacts: list[ContactResource] = field(default_factory=list)
    groups: list[GroupResource] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """``20 contacts, 4 groups, 7 files``."""
        return (
            f"{_plural(len(self.contacts), 'contact')}, {_plural(len(self.groups), 'group')}, "
            f"{_plural(self.files, 'file')}"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def load(
    paths: Sequence[Path | str],
    *,
    default_region: str = DEFAULT_REGION,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> LoadResult:
    """Load and validate the manifests in ``paths`` (files, or directories walked recursively).

    ``default_region`` is the ISO country whose national format phone numbers without a
    ``+country`` prefix are read in; an unknown region is a ValueError.
    """
    region = check_region(default_region)
    loading = _Loading(default_region=region, max_file_bytes=max_file_bytes)
    for path in paths:
        for item in discover(Path(path)):
            if isinstance(item, ManifestError):
                loading.result.errors.append(item)
            else:
                loading.load_file(item)
    loading.check_references()
    loading.result.errors.sort(key=lambda e: (e.path, e.line, e.col))
    return loading.result


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


class _Loading:
    """The state of one ``load()`` run: results so far and what to cross-check at the end."""

    def __init__(self, *, default_region: str, max_file_bytes: int) -> None:
        self.result = LoadResult()
        self.context = {"default_region": default_region}
        self.max_file_bytes = max_file_bytes
        self.names: dict[str, dict[str, Location]] = {kind: {} for kind in KINDS}
        self.group_refs: list[tuple[str, Location]] = []
        self.seen_files: set[Path] = set()
        self.broken_groups: set[str] = set()
        self.group_titles: dict[str, Location] = {}

    def load_file(self, path: Path) -> None:
        shown = str(path)
        errors = self.result.errors
        try:
            real = path.resolve()
            if real in self.seen_files:  # reached twice through links or overlapping paths
                return
            self.seen_files.add(real)
            size = path.stat().st_size
            if size > self.max_file_bytes:
                errors.append(
                    ManifestError(
                        shown,
                        1,
                        1,
                        f"file is {size} bytes, more than the limit of {self.max_file_bytes}",
                        "split it into several files",
                    )
                )
                return
            data = path.read_bytes()
        except OSError as exc:
            errors.append(
                ManifestError(shown, 1, 1, f"cannot read file: {exc.strerror}", "check permissions")
            )
            return
        self.result.files += 1
        text, problem = decode(data, shown)
        if text is None:
            errors.append(problem)  # type: ignore[arg-type]
            return
        found = False
        for item in documents(text, shown):
            found = True
            if isinstance(item, ManifestError):
                errors.append(item)
            else:
                self.load_document(item, shown)
        if not found:
            errors.append(
                ManifestError(
                    shown, 1, 1, "file contains no manifest", "add a manifest or delete the file"
                )
            )

    def load_document(self, doc: Document, path: str) -> None:
        errors = self.result.errors
        if doc.errors:
            errors.extend(doc.errors)
            return
        value: Any = doc.value
        if value is None:
            errors.append(
                ManifestError(
                    path,
                    doc.line,
                    doc.col,
                    "empty document",
                    "remove the extra '---' separator, or write a manifest here",
                )
            )
            return
        if not isinstance(value, dict):
            errors.append(
                ManifestError(
                    *where(doc.node, path),
                    "a manifest must be a mapping with apiVersion, kind, metadata and spec",
                    "start the document with 'apiVersion: reconciler/v1'",
                )
            )
            return
        model = self._model_for(value, doc, path)
        if model is None:
            return
        try:
            parsed: Any = model.model_validate(value, context=self.context)
        except ValidationError as exc:
            errors.extend(translate(exc, doc.node, path, model))
            metadata = value.get("metadata")
            if model is GroupDocument and isinstance(metadata, dict):
                # Already reported: do not also report every contact that names this group.
                self.broken_groups.add(str(metadata.get("name")))
            return
        self._accept(parsed, doc, path)

    def _model_for(self, value: dict[Any, Any], doc: Document, path: str) -> type[BaseModel] | None:
        api_version = value.get("apiVersion")
        if api_version != API_VERSION:
            message = (
                "missing apiVersion"
                if api_version is None
                else f"unsupported apiVersion {api_version!r}"
            )
            self.result.errors.append(
                ManifestError(
                    *where(node_at(doc.node, ("apiVersion",)), path),
                    message,
                    f"use apiVersion: {API_VERSION}",
                )
            )
            return None
        kind = value.get("kind")
        model = KINDS.get(kind) if isinstance(kind, str) else None
        if model is None:
            message = "missing kind" if kind is None else f"unsupported kind {kind!r}"
            self.result.errors.append(
                ManifestError(
                    *where(node_at(doc.node, ("kind",)), path),
                    message,
                    "kind is one of: " + ", ".join(KINDS),
                )
            )
        return model

    def _accept(self, parsed: Any, doc: Document, path: str) -> None:
        metadata = parsed.metadata
        kind = parsed.kind
        name_at = Location(*where(node_at(doc.node, ("metadata", "name")), path))
        first = self.names[kind].get(metadata.name)
        if first is not None:
            self.result.errors.append(
                ManifestError.at(
                    name_at,
                    f"duplicate {kind} name {metadata.name!r}, already defined at {first}",
                    f"names are unique per kind: rename one of the two {kind} manifests",
                )
            )
            return
        self.names[kind][metadata.name] = name_at
        location = Location(*where(doc.node, path))
        if isinstance(parsed, ContactDocument):
            spec = parsed.spec
            if metadata.annotations.get(ADOPT_ANNOTATION) == "email" and not spec.emailAddresses:
                at = node_at(doc.node, ("metadata", "annotations", ADOPT_ANNOTATION))
                self.result.errors.append(
                    ManifestError(
                        *where(at, path),
                        "reconciler/adopt: email needs at least one email address in spec",
                        "add the email address the live contact has, or remove the annotation",
                    )
                )
                return
            for index, group in enumerate(spec.groups):
                group_at = node_at(doc.node, ("spec", "groups", index))
                self.group_refs.append((group, Location(*where(group_at, path))))
            self.result.contacts.append(
                ContactResource(
                    name=metadata.name,
                    spec=spec,
                    labels=metadata.labels,
                    annotations=metadata.annotations,
                    location=location,
                )
            )
        else:
            display = parsed.spec.name
            title_key = unicodedata.normalize("NFC", display).strip().casefold()
            shown_at = Location(*where(node_at(doc.node, ("spec", "name")), path))
            earlier = self.group_titles.get(title_key)
            if earlier is not None:
                self.result.errors.append(
                    ManifestError.at(
                        shown_at,
                        f"two contact groups are named {display!r}; the other is at {earlier}",
                        "Google Contacts refuses duplicate group names (case is ignored): "
                        "rename one of them",
                    )
                )
                return
            self.group_titles[title_key] = shown_at
            self.result.groups.append(
                GroupResource(
                    name=metadata.name,
                    spec=parsed.spec,
                    labels=metadata.labels,
                    annotations=metadata.annotations,
                    location=location,
                )
            )

    def check_references(self) -> None:
        """Every group a contact names must be defined by a ContactGroup manifest."""
        defined = self.names["ContactGroup"]
        for group, at in self.group_refs:
            if group in defined or group in self.broken_groups:
                continue
            close = difflib.get_close_matches(group, list(defined), n=1)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else f"add a ContactGroup manifest with metadata.name: {group}, or fix the name"
            )
            self.result.errors.append(
                ManifestError.at(at, f"group {group!r} is not defined by any ContactGroup", hint)
            )
