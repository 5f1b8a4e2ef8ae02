"""Drafts from any format -> named, validated Contact and ContactGroup resources.

Names are stable: the same file always gives the same names, so importing again updates the
same manifests instead of adding new ones. A contact is named after the name a person reads
(``María García`` -> ``maria-garcia``), else its email's local part, else its organization,
else a short digest of what it holds (a name in a script that has no ASCII letters still gets
a name that does not change between runs). A file written by ``reconciler export`` carries its
manifest names, which win. Groups come from the labels (categories) contacts carry.

Validation is the manifests' own (the ``ContactSpec`` model), so what imports is exactly what
``reconciler validate`` accepts; each problem is located at the cell or line it came from.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from reconciler.formats.records import Draft, Parsed
from reconciler.manifest.convert import slug
from reconciler.manifest.errors import ManifestError
from reconciler.manifest.fields import DEFAULT_REGION
from reconciler.manifest.resources import (
    ADOPT_ANNOTATION,
    NAME_PATTERN,
    ContactResource,
    ContactSpec,
    GroupResource,
    GroupSpec,
    Metadata,
)

_HINTS = {
    "email": "fix the address, or delete the cell",
    "phone_number": "write the number with its +country code, or pass --default-region",
    "date": "write dates as YYYY-MM-DD, or --MM-DD without a year",
    "too_long": "these contacts hold one of this field; keep one value",
}


@dataclass
class Imported:
    """Resources ready to be written, or the errors that stop anything from being written."""

    contacts: list[ContactResource] = field(default_factory=list)
    groups: list[GroupResource] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


class _Names:
    """Unique names per kind, preferring the one asked for and suffixing -2, -3... on clashes."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, base: str) -> str:
        name, suffix = base, 2
        while name in self.taken:
            name, suffix = f"{base[:56]}-{suffix}", suffix + 1
        self.taken.add(name)
        return name


def to_manifests(
    files: Sequence[Parsed],
    *,
    default_region: str = DEFAULT_REGION,
    labels: Mapping[str, str] | None = None,
) -> Imported:
    """Name, group and validate every draft of ``files``; ``labels`` go on every contact."""
    result = Imported()
    drafts = [draft for parsed in files for draft in parsed.drafts]
    for parsed in files:
        result.errors.extend(parsed.errors)
        result.warnings.extend(parsed.warnings)
    group_names = _groups(drafts, result)
    names = _Names()
    chosen: dict[int, str] = {}
    for index, draft in enumerate(drafts):  # names carried by the file first: they must hold
        if draft.name is None:
            continue
        if re.fullmatch(NAME_PATTERN, draft.name) is None:
            result.errors.append(
                ManifestError.at(
                    draft.at,
                    f"{draft.name!r} is not a manifest name",
                    "use lowercase letters, digits, '-' and '.'",
                )
            )
        elif draft.name in names.taken:
            result.errors.append(
                ManifestError.at(
                    draft.at,
                    f"two contacts are named {draft.name!r}",
                    "names are unique: rename one",
                )
            )
        else:
            chosen[index] = names.claim(draft.name)
    for index, draft in enumerate(drafts):
        if draft.name is not None:
            continue
        if not draft.person and not draft.groups:
            result.warnings.append(f"{draft.at}: left out a row with nothing to import")
            continue
        chosen[index] = names.claim(_base_name(draft))
    for index, draft in enumerate(drafts):
        if index in chosen:
            _contact(draft, chosen[index], group_names, default_region, labels or {}, result)
    result.errors.sort(key=lambda e: (e.path, e.line, e.col))
    return result


def _base_name(draft: Draft) -> str:
    shown = draft.display_name()
    for candidate in (
        shown,
        *(str(e.get("value", "")).split("@")[0] for e in draft.person.get("emailAddresses", ())),
        *(str(o.get("name", "")) for o in draft.person.get("organizations", ())),
    ):
        name = slug(candidate)
        if name:
            return name
    basis = shown or repr(sorted((k, repr(v)) for k, v in draft.person.items()))
    return f"contact-{digest(unicodedata.normalize('NFC', basis))}"


def _groups(drafts: Sequence[Draft], result: Imported) -> dict[str, str]:
    """Display name (folded) -> manifest name, with a ContactGroup resource for each."""
    names = _Names()
    by_title: dict[str, str] = {}
    for draft in drafts:
        for title in draft.groups:
            key = unicodedata.normalize("NFC", title).strip().casefold()
            if key in by_title:
                continue
            name = names.claim(slug(title) or f"group-{digest(key)}")
            by_title[key] = name
            result.groups.append(GroupResource(name=name, spec=GroupSpec(name=title.strip())))
    return by_title


def _contact(
    draft: Draft,
    name: str,
    group_names: Mapping[str, str],
    default_region: str,
    labels: Mapping[str, str],
    result: Imported,
) -> None:
    groups = sorted(
        {group_names[unicodedata.normalize("NFC", g).strip().casefold()] for g in draft.groups}
    )
    data: dict[str, Any] = {**draft.person, **draft.exact, "groups": groups}
    try:
        spec = ContactSpec.model_validate(data, context={"default_region": default_region})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            field_name = str(loc[0]) if loc else ""
            index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            path = ".".join(str(part) for part in loc)
            result.errors.append(
                ManifestError.at(
                    draft.place(field_name, index),
                    f"{path}: {error['msg']}" + _shown(error.get("input")),
                    _HINTS.get(error["type"], "fix the value, or delete it"),
                )
            )
        return
    annotations = draft.annotations
    if annotations is None and draft.name is not None:
        annotations = {}  # our own export: it carries the annotations there are
    elif annotations is None:
        annotations = {ADOPT_ANNOTATION: "email"} if spec.emailAddresses else {}
    try:
        metadata = Metadata.model_validate(
            {"name": name, "labels": {**draft.labels, **labels}, "annotations": annotations}
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            result.errors.append(ManifestError.at(draft.at, error["msg"], "fix the metadata"))
        return
    result.contacts.append(
        ContactResource(
            name=metadata.name,
            spec=spec,
            labels=dict(metadata.labels),
            annotations=dict(metadata.annotations),
        )
    )


def _shown(value: Any) -> str:
    return f" ({value!r})" if isinstance(value, str) and len(value) <= 80 else ""
