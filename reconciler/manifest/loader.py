"""Load a tree of manifests into validated resources, collecting every error in one run.

The loader is the front door of the product: it runs in pre-commit hooks, in CI and at the start
of every reconcile, and one bad file must mean nothing is written. So it never stops at the first
problem: it reports all of them, each at ``path:line:col`` with a hint, and only a run with no
errors is usable (``LoadResult.ok``).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from reconciler.manifest.errors import Location, ManifestError
from reconciler.manifest.fields import DEFAULT_REGION, check_region
from reconciler.manifest.parsing import Accepted, parse_file
from reconciler.manifest.resources import ContactResource, GroupResource
from reconciler.manifest.tree import discover

MAX_FILE_BYTES: Final = 8 * 1024 * 1024
# What plan, apply, validate and run read when no path is given: the same for all of them.
DEFAULT_PATH: Final = "."


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
    cache: bool = True,
) -> LoadResult:
    """Load and validate the manifests in ``paths`` (files, or directories walked recursively).

    ``default_region`` is the ISO country whose national format phone numbers without a
    ``+country`` prefix are read in; an unknown region is a ValueError. With ``cache``, files
    whose bytes were seen before are not parsed again.
    """
    region = check_region(default_region)
    loading = _Loading(default_region=region, max_file_bytes=max_file_bytes, cache=cache)
    for path in paths:
        for item in discover(Path(path)):
            if isinstance(item, ManifestError):
                loading.result.errors.append(item)
            else:
                loading.load_file(item)
    loading.check_references()
    loading.result.errors.sort(key=lambda e: (e.path, e.line, e.col))
    return loading.result


class _Loading:
    """The state of one ``load()`` run: results so far and what to cross-check at the end."""

    def __init__(self, *, default_region: str, max_file_bytes: int, cache: bool) -> None:
        self.result = LoadResult()
        self.default_region = default_region
        self.max_file_bytes = max_file_bytes
        self.cache = cache
        self.names: dict[str, dict[str, Location]] = {"Contact": {}, "ContactGroup": {}}
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
        outcome = parse_file(data, shown, self.default_region, cache=self.cache)
        errors.extend(outcome.errors)
        self.broken_groups |= outcome.broken_groups
        for accepted in outcome.accepted:
            self.accept(accepted)

    def accept(self, accepted: Accepted) -> None:
        """Add one valid document unless its name (or a group's display name) is taken."""
        kind, resource = accepted.kind, accepted.resource
        first = self.names[kind].get(resource.name)
        if first is not None:
            self.result.errors.append(
                ManifestError.at(
                    accepted.name_at,
                    f"duplicate {kind} name {resource.name!r}, already defined at {first}",
                    f"names are unique per kind: rename one of the two {kind} manifests",
                )
            )
            return
        if isinstance(resource, GroupResource) and accepted.title_at is not None:
            display = resource.spec.name
            title_key = unicodedata.normalize("NFC", display).strip().casefold()
            earlier = self.group_titles.get(title_key)
            if earlier is not None:
                self.result.errors.append(
                    ManifestError.at(
                        accepted.title_at,
                        f"two contact groups are named {display!r}; the other is at {earlier}",
                        "Google Contacts refuses duplicate group names (case is ignored): "
                        "rename one of them",
                    )
                )
                return
            self.group_titles[title_key] = accepted.title_at
        self.names[kind][resource.name] = accepted.name_at
        if isinstance(resource, ContactResource):
            self.group_refs.extend(accepted.group_refs)
            self.result.contacts.append(resource)
        else:
            self.result.groups.append(resource)

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
