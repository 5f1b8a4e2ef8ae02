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
from reconciler.manifest.revision import Digest, Pin, git_commit, pin
from reconciler.manifest.tree import Found, discover
from reconciler.model.inputs import previous_names

MAX_FILE_BYTES: Final = 8 * 1024 * 1024
# What plan, apply, validate and run read when no path is given: the same for all of them.
DEFAULT_PATH: Final = "."
MAX_READS: Final = 5
"""How many times a load starts again because a link was repointed while it read."""


@dataclass
class LoadResult:
    """Everything found under the given paths; usable only when ``ok``."""

    contacts: list[ContactResource] = field(default_factory=list)
    groups: list[GroupResource] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)
    files: int = 0
    # The revision read: the git commit when every path is in one checked-out commit, else
    # the fingerprint (see :mod:`reconciler.manifest.revision`).
    revision: str = ""
    # ``sha256:`` and the digest of every file read, each under its path relative to the path
    # given: the same content has the same fingerprint in any checkout (see fingerprint_of).
    fingerprint: str = ""
    rereads: int = 0  # times the load started again because a new revision was published

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

    Each path is pinned once to the directory its links lead to and read only beneath it; if a
    link was repointed meanwhile (a new revision published), the whole load starts again, at
    most :data:`MAX_READS` times, so one result never mixes files from two revisions.
    """
    region = check_region(default_region)
    for rereads in range(MAX_READS):
        pins = [pin(Path(path)) for path in paths]
        loading = _Loading(default_region=region, max_file_bytes=max_file_bytes, cache=cache)
        for pinned in pins:
            for item in discover(pinned):
                if isinstance(item, ManifestError):
                    loading.result.errors.append(item)
                else:
                    loading.load_file(item, pinned)
        if not any(pinned.moved() for pinned in pins):
            loading.result.rereads = rereads
            break
    else:
        return LoadResult(
            errors=[
                ManifestError(
                    str(Path(paths[0])),
                    1,
                    1,
                    f"the manifests were replaced by a new revision {MAX_READS} times while "
                    "being read",
                    "nothing was used from them; they are read again at the next change",
                )
            ]
        )
    loading.check_references()
    loading.result.errors.sort(key=lambda e: (e.path, e.line, e.col))
    loading.result.fingerprint = f"sha256:{loading.digest.hexdigest()}"
    loading.result.revision = _commit(pins) or loading.result.fingerprint
    return loading.result


def fingerprint_of(paths: Sequence[Path | str], *, max_file_bytes: int = MAX_FILE_BYTES) -> str:
    """The fingerprint :func:`load` reports for ``paths``, without parsing: the same files'
    bytes digested the same way (what ``apply PLANFILE`` compares with the plan's)."""
    loading = _Loading(default_region=DEFAULT_REGION, max_file_bytes=max_file_bytes, cache=False)
    for pinned in (pin(Path(path)) for path in paths):
        for item in discover(pinned):
            if not isinstance(item, ManifestError):
                loading.read_file(item, pinned)
    return f"sha256:{loading.digest.hexdigest()}"


def _commit(pins: Sequence[Pin]) -> str | None:
    """The commit every path is in, when it is one checked-out commit."""
    commits = {
        git_commit(p.real if p.real.is_dir() else p.real.parent) if p.real else None for p in pins
    }
    return commits.pop() if len(commits) == 1 else None


def _relative(shown: Path, given: Path) -> str:
    return shown.relative_to(given).as_posix() if shown != given else shown.name


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
        self.previous: list[tuple[str, str, Location]] = []  # (old name, contact, annotation)
        self.digest = Digest()

    def load_file(self, found: Found, pinned: Pin) -> None:
        """Read one file from beneath its pinned directory and accept what it defines."""
        data = self.read_file(found, pinned)
        if data is None:
            return
        outcome = parse_file(data, str(found.shown), self.default_region, cache=self.cache)
        self.result.errors.extend(outcome.errors)
        self.broken_groups |= outcome.broken_groups
        for accepted in outcome.accepted:
            self.accept(accepted)

    def read_file(self, found: Found, pinned: Pin) -> bytes | None:
        """One file's bytes, added to the revision's digest; None (an error noted, or a file
        already read) when there is nothing to parse."""
        shown, real = str(found.shown), found.real
        errors = self.result.errors
        try:
            if real in self.seen_files:  # reached twice through links or overlapping paths
                return None
            self.seen_files.add(real)
            size = real.stat().st_size
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
                return None
            data = real.read_bytes()
        except OSError as exc:
            errors.append(
                ManifestError(shown, 1, 1, f"cannot read file: {exc.strerror}", "check permissions")
            )
            return None
        self.result.files += 1
        self.digest.add(_relative(found.shown, pinned.given), data)
        return data

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
            if accepted.previous_at is not None:
                self.previous += [
                    (old, resource.name, accepted.previous_at)
                    for old in previous_names(resource.annotations)
                ]
            self.result.contacts.append(resource)
        else:
            self.result.groups.append(resource)

    def check_references(self) -> None:
        """Every group a contact names must be defined by a ContactGroup manifest, and every
        previous name must be no contact's current name and one contact's previous name."""
        self.check_previous_names()
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

    def check_previous_names(self) -> None:
        """A previous name is nobody's current name (else two manifests would claim one live
        contact) and is listed by one contact only."""
        current = self.names["Contact"]
        claimed: dict[str, str] = {}
        for old, name, at in self.previous:
            if old in current:
                whose = (
                    "its own"
                    if old == name
                    else f"the current name of the contact at {current[old]}"
                )
                self.result.errors.append(
                    ManifestError.at(
                        at,
                        f"previous name {old!r} of contact {name!r} is {whose}",
                        "list only names no manifest uses any more",
                    )
                )
            elif old in claimed and claimed[old] != name:
                self.result.errors.append(
                    ManifestError.at(
                        at,
                        f"previous name {old!r} is listed by contacts {claimed[old]!r} and "
                        f"{name!r}",
                        "a live contact can be renamed into one manifest only: keep it in one",
                    )
                )
            else:
                claimed[old] = name
