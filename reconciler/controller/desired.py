"""An account's desired state, with the last good version kept while the manifests are broken.

Manifests arrive from git, and a bad commit is a normal event, not an outage. When a load fails
the controller keeps the last state that loaded cleanly and writes nothing until the files are
fixed: applying a half-loaded tree could delete the contacts of the files that failed, and
applying the old tree would fight the person who is fixing the new one. The errors are logged
with their locations and exported as a gauge, so the problem is visible without a shell.

Contact-level suspend (annotation ``reconciler/suspend: "true"``) is resolved here too: a
suspended contact is taken out of the desired state and its name is remembered, so the pass can
show its live copy to the planner as protected from pruning (see ``controller/suspension.py``).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.model import SUSPEND_ANNOTATION, DesiredState

__all__ = ["DesiredStore", "Loaded", "load_manifests", "manifests_signature"]

Loader = Callable[[Sequence[Path]], Any]
"""``reconciler.manifest.load``: paths -> a result with contacts, groups, errors, ok."""

Stamper = Callable[[Sequence[Path]], bytes]
"""``reconciler.manifest.signature``: paths -> what a load would read now, in a few bytes."""


def manifests_signature(paths: Sequence[Path]) -> bytes:
    """``reconciler.manifest.signature`` over ``paths`` (stat calls only, no file read)."""
    from reconciler.manifest import signature

    return signature(list(paths))


def load_manifests(paths: Sequence[Path], *, default_region: str = "US") -> Any:
    """``reconciler.manifest.load`` over ``paths``; phone numbers written without +country are
    read in ``default_region``."""
    from reconciler.manifest import load

    return load(list(paths), default_region=default_region)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What one reload found."""

    ok: bool
    changed: bool  # the desired state in force is different from before
    errors: tuple[str, ...] = ()
    # The contacts whose manifest was added, changed or removed; None when that is not enough
    # to know what to do (the first load, a group or a suspension changed): then a full pass.
    changed_keys: frozenset[str] | None = None
    rereads: int = 0  # a new revision was published while loading: read again this often


@dataclass
class DesiredStore:
    """Loads an account's manifests and keeps the last good result."""

    paths: Sequence[Path]
    loader: Loader = load_manifests
    stamper: Stamper = manifests_signature
    # The signature of the manifests as the latest load began to read them (None before the
    # first): the watch compares it with the disk when it starts hearing this account.
    read: bytes | None = None
    # The last good desired state, while a pass needs it; None before the first load and
    # between passes (see release).
    state: DesiredState | None = None
    suspended: frozenset[str] = frozenset()  # contacts suspended by annotation
    errors: tuple[str, ...] = ()  # the problems of the latest load; empty when it was good
    _contacts: dict[str, bytes] | None = field(default=None, repr=False)  # name -> fingerprint
    _rest: Any = field(default=None, repr=False)  # identity of the groups and suspensions

    @property
    def broken(self) -> bool:
        """The latest load failed: nothing may be written until it is fixed."""
        return bool(self.errors)

    @property
    def loaded(self) -> bool:
        """A load has succeeded at least once."""
        return self._contacts is not None

    def release(self) -> None:
        """Drop the loaded models between passes (the next pass reloads); what changed is
        still told apart by the fingerprints kept."""
        self.state = None

    def reload(self) -> Loaded:
        """Load the manifests again; on failure keep the last good state in force."""
        try:
            self.read = self.stamper(self.paths)  # before reading: a later change shows
            result = self.loader(self.paths)
        except Exception as error:  # an unreadable tree is a broken tree, not a crash
            self.errors = (f"loading manifests failed: {type(error).__name__}: {error}",)
            return Loaded(ok=False, changed=False, errors=self.errors)
        errors = tuple(str(e) for e in getattr(result, "errors", ()))
        if errors or not getattr(result, "ok", True):
            self.errors = errors or ("the manifests did not load completely",)
            return Loaded(ok=False, changed=False, errors=self.errors)
        self.errors = ()
        contacts = list(result.contacts)
        suspended = frozenset(c.name for c in contacts if _suspended(c))
        state = DesiredState(
            contacts=[c for c in contacts if c.name not in suspended],
            groups=list(result.groups),
            complete=True,
            revision=getattr(result, "revision", None) or None,
        )
        # Names interned: the status and the live index hold the same ones, kept once.
        contacts_now = {sys.intern(c.name): _identity(c) for c in state.contacts}
        rest = (tuple(_identity(g) for g in state.groups), suspended)
        before = self._contacts
        changed_keys: frozenset[str] | None = None
        if before is not None and rest == self._rest:
            changed_keys = frozenset(
                name
                for name in before.keys() | contacts_now.keys()
                if before.get(name) != contacts_now.get(name)
            )
        changed = changed_keys is None or bool(changed_keys)
        self.state, self.suspended = state, suspended
        self._contacts, self._rest = contacts_now, rest
        rereads = int(getattr(result, "rereads", 0) or 0)
        return Loaded(ok=True, changed=changed, changed_keys=changed_keys, rereads=rereads)


def _suspended(resource: Any) -> bool:
    annotations = getattr(resource, "annotations", None) or {}
    return str(annotations.get(SUSPEND_ANNOTATION, "")).strip().lower() == "true"


def _identity(resource: Any) -> bytes:
    """A fingerprint of what a resource asks for, ignoring where it is written (moving it
    changes nothing); 16 bytes, so thousands of contacts cost little between passes."""
    text = repr(
        (
            getattr(resource, "name", None),
            getattr(resource, "spec", None),
            getattr(resource, "labels", None),
            getattr(resource, "annotations", None),
        )
    )
    return hashlib.blake2b(text.encode(), digest_size=16).digest()
