"""One manifest file's bytes -> its validated resources and its own errors.

Everything here depends only on the file's bytes, the path it is shown under and the default
phone region, so the outcome can be cached by content: the controller reloads the whole tree
after every change, and re-reading an unchanged file then costs a hash, not a parse. What spans
files (duplicate names, group references) is checked by the loader afterwards.

The cache is bounded by the documents it holds, not by files: a controller keeping a whole
domain would otherwise keep every account's parsed models for ever (~5.7 KiB a contact), which is
exactly what releasing an account's desired state between passes is meant to avoid. Reloads run
on worker threads, so the cache takes a lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from reconciler.manifest.diagnose import node_at, translate
from reconciler.manifest.errors import Location, ManifestError
from reconciler.manifest.resources import (
    API_VERSION,
    ContactDocument,
    ContactResource,
    GroupDocument,
    GroupResource,
)
from reconciler.manifest.safeyaml import Document, decode, documents, where
from reconciler.model.inputs import ADOPT_ANNOTATION, PREVIOUS_NAMES_ANNOTATION

KINDS: Final[dict[str, type[BaseModel]]] = {
    "Contact": ContactDocument,
    "ContactGroup": GroupDocument,
}
CACHE_DOCUMENTS: Final = 20_000  # parsed documents kept at most (~5.7 KiB each: ~110 MB)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid document, with the locations the cross-file checks point at."""

    resource: ContactResource | GroupResource
    kind: str
    name_at: Location
    title_at: Location | None = None  # groups: where spec.name was written
    group_refs: tuple[tuple[str, Location], ...] = ()  # contacts: spec.groups entries
    previous_at: Location | None = None  # contacts: where reconciler/previous-names was written


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """Everything one file says, before it is checked against the other files."""

    accepted: tuple[Accepted, ...]
    errors: tuple[ManifestError, ...]
    broken_groups: frozenset[str]  # names of ContactGroups that failed validation


_cache: OrderedDict[tuple[str, str, bytes], FileOutcome] = OrderedDict()
_cached_documents = 0
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached file outcome (benchmarks measure first loads with this)."""
    global _cached_documents
    with _cache_lock:
        _cache.clear()
        _cached_documents = 0


def _weight(outcome: FileOutcome) -> int:
    return max(1, len(outcome.accepted) + len(outcome.errors))


def parse_file(data: bytes, shown: str, default_region: str, *, cache: bool = True) -> FileOutcome:
    """The outcome of one file's bytes, shown in errors as ``shown``."""
    if not cache:
        return _Parser(shown, default_region).parse(data)
    global _cached_documents
    key = (shown, default_region, hashlib.blake2b(data, digest_size=20).digest())
    with _cache_lock:
        outcome = _cache.get(key)
        if outcome is not None:
            _cache.move_to_end(key)
            return outcome
    outcome = _Parser(shown, default_region).parse(data)
    weight = _weight(outcome)
    if weight > CACHE_DOCUMENTS:
        return outcome  # larger than the whole cache: not worth evicting everything for
    with _cache_lock:
        if key not in _cache:
            _cache[key] = outcome
            _cached_documents += weight
        while _cached_documents > CACHE_DOCUMENTS:
            _, evicted = _cache.popitem(last=False)
            _cached_documents -= _weight(evicted)
    return outcome


class _Parser:
    def __init__(self, path: str, default_region: str) -> None:
        self.path = path
        self.context = {"default_region": default_region}
        self.accepted: list[Accepted] = []
        self.errors: list[ManifestError] = []
        self.broken_groups: set[str] = set()

    def parse(self, data: bytes) -> FileOutcome:
        text, problem = decode(data, self.path)
        if problem is not None or text is None:
            self.errors.append(problem or ManifestError(self.path, 1, 1, "unreadable", ""))
        else:
            for item in documents(text, self.path):
                if isinstance(item, ManifestError):
                    self.errors.append(item)
                else:
                    self.document(item)
        return FileOutcome(tuple(self.accepted), tuple(self.errors), frozenset(self.broken_groups))

    def fail(self, node: Any, message: str, hint: str) -> None:
        self.errors.append(ManifestError(*where(node, self.path), message, hint))

    def document(self, doc: Document) -> None:
        if doc.errors:
            self.errors.extend(doc.errors)
            return
        value: Any = doc.value
        if value is None:  # a trailing '---' or comments only: skipped, as kubectl does
            return
        if not isinstance(value, dict):
            self.fail(
                doc.node,
                "a manifest must be a mapping with apiVersion, kind, metadata and spec",
                "start the document with 'apiVersion: reconciler/v1'",
            )
            return
        model = self.model_for(value, doc)
        if model is None:
            return
        try:
            parsed: Any = model.model_validate(value, context=self.context)
        except ValidationError as exc:
            self.errors.extend(translate(exc, doc.node, self.path, model))
            metadata = value.get("metadata")
            if model is GroupDocument and isinstance(metadata, dict):
                # Already reported: do not also report every contact that names this group.
                self.broken_groups.add(str(metadata.get("name")))
            return
        self.accept(parsed, doc)

    def model_for(self, value: dict[Any, Any], doc: Document) -> type[BaseModel] | None:
        api_version = value.get("apiVersion")
        if api_version != API_VERSION:
            self.fail(
                node_at(doc.node, ("apiVersion",)),
                "missing apiVersion"
                if api_version is None
                else f"unsupported apiVersion {api_version!r}",
                f"use apiVersion: {API_VERSION}",
            )
            return None
        kind = value.get("kind")
        model = KINDS.get(kind) if isinstance(kind, str) else None
        if model is None:
            self.fail(
                node_at(doc.node, ("kind",)),
                "missing kind" if kind is None else f"unsupported kind {kind!r}",
                "kind is one of: " + ", ".join(KINDS),
            )
        return model

    def at(self, doc: Document, *loc: str | int) -> Location:
        return Location(*where(node_at(doc.node, loc), self.path))

    def accept(self, parsed: Any, doc: Document) -> None:
        metadata = parsed.metadata
        location = Location(*where(doc.node, self.path))
        if isinstance(parsed, ContactDocument):
            spec = parsed.spec
            if metadata.annotations.get(ADOPT_ANNOTATION) == "email" and not spec.emailAddresses:
                self.fail(
                    node_at(doc.node, ("metadata", "annotations", ADOPT_ANNOTATION)),
                    "reconciler/adopt: email needs at least one email address in spec",
                    "add the email address the live contact has, or remove the annotation",
                )
                return
            contact = ContactResource(
                name=metadata.name,
                spec=spec,
                labels=metadata.labels,
                annotations=metadata.annotations,
                location=location,
            )
            refs = tuple(
                (group, self.at(doc, "spec", "groups", index))
                for index, group in enumerate(spec.groups)
            )
            previous_at = None
            if PREVIOUS_NAMES_ANNOTATION in metadata.annotations:
                previous_at = self.at(doc, "metadata", "annotations", PREVIOUS_NAMES_ANNOTATION)
            self.accepted.append(
                Accepted(
                    contact,
                    "Contact",
                    self.at(doc, "metadata", "name"),
                    group_refs=refs,
                    previous_at=previous_at,
                )
            )
            return
        if PREVIOUS_NAMES_ANNOTATION in metadata.annotations:
            self.fail(
                node_at(doc.node, ("metadata", "annotations", PREVIOUS_NAMES_ANNOTATION)),
                f"{PREVIOUS_NAMES_ANNOTATION} applies to contacts only",
                "remove it: only contacts are renamed in place",
            )
            return
        group = GroupResource(
            name=metadata.name,
            spec=parsed.spec,
            labels=metadata.labels,
            annotations=metadata.annotations,
            location=location,
        )
        self.accepted.append(
            Accepted(
                group,
                "ContactGroup",
                self.at(doc, "metadata", "name"),
                title_at=self.at(doc, "spec", "name"),
            )
        )
