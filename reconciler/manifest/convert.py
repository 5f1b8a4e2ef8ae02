"""Live People API contacts and groups as manifest resources (``reconciler export``).

Onboarding an existing address book starts from what is live: each person becomes a Contact
manifest holding its writable fields, minus everything the server owns (``metadata``,
``formattedType``, ``displayName``, ``canonicalForm``...) and minus data that came from a
profile rather than the contact itself. What the loader would refuse (an email the People API
accepted but that is not an address) is left out with a warning rather than written, so an
export always validates. Contacts that no controller stamped are marked ``reconciler/adopt:
email`` so that the first apply takes them over instead of creating duplicates.

Pure: plain API JSON in, resources out; the caller does the listing and the writing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.manifest.fields import DEFAULT_REGION
from reconciler.manifest.resources import (
    ADOPT_ANNOTATION,
    PRUNE_ANNOTATION,
    SINGLETONS,
    ContactResource,
    ContactSpec,
    GroupResource,
    GroupSpec,
)
from reconciler.model.stamps import NAME_KEY, PRUNE_KEY, read_stamp

USER_GROUP = "USER_CONTACT_GROUP"
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass
class Export:
    """What an export produced, with a warning for everything it could not carry over."""

    contacts: list[ContactResource] = field(default_factory=list)
    groups: list[GroupResource] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    """A manifest name from free text: ``María García`` -> ``maria-garcia``, at most 60 long."""
    folded = unicodedata.normalize("NFKD", text.lower())
    ascii_text = folded.encode("ascii", errors="ignore").decode("ascii")
    return _SLUG_JUNK.sub("-", ascii_text).strip("-")[:60].strip("-")


class _Names:
    """Hands out unique manifest names, preferring the one asked for."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, wanted: str, fallback: str) -> str:
        base = wanted or fallback
        name, suffix = base, 2
        while name in self.taken:
            name, suffix = f"{base}-{suffix}", suffix + 1
        self.taken.add(name)
        return name


def _client_data(item: Mapping[str, Any], key: str) -> str | None:
    for entry in item.get("clientData") or []:
        if entry.get("key") == key and isinstance(entry.get("value"), str):
            return str(entry["value"])
    return None


def _from_contact(entry: Mapping[str, Any]) -> bool:
    """False for data a profile (not the contact itself) contributed to a listing."""
    source = (entry.get("metadata") or {}).get("source") or {}
    return source.get("type") in (None, "CONTACT")


def _entry_model(field_name: str) -> type[BaseModel]:
    annotation = ContactSpec.model_fields[field_name].annotation
    stack: list[Any] = [annotation]
    while stack:
        current = stack.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            return current
        stack.extend(getattr(current, "__args__", ()) or ())
        origin = getattr(current, "__origin__", None)
        if origin is not None and origin is not list:
            stack.append(origin)
    raise LookupError(field_name)  # pragma: no cover - every spec field is a list of entries


def _writable(value: Any, model: type[BaseModel]) -> Any:
    """An entry with only the keys the manifest model accepts (recursively for dates)."""
    if not isinstance(value, Mapping):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        info = model.model_fields.get(key)
        if info is None:
            continue
        nested = info.annotation
        inner = next(
            (arg for arg in getattr(nested, "__args__", ()) if isinstance(arg, type)),
            nested,
        )
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            item = _writable(item, inner)
        kept[key] = item
    return kept


def spec_from_person(
    person: Mapping[str, Any],
    *,
    group_names: Mapping[str, str],
    default_region: str = DEFAULT_REGION,
    label: str = "contact",
) -> tuple[ContactSpec, list[str]]:
    """The ContactSpec of a live person, and warnings about what had to be left out.

    ``group_names`` maps contact group resource names to manifest names; memberships of other
    groups (system groups such as myContacts) are not written. Warnings name the contact by
    ``label`` and the field, never a value.
    """
    data: dict[str, Any] = {}
    for name in ContactSpec.model_fields:
        if name == "groups":
            continue
        entries = [e for e in person.get(name) or [] if isinstance(e, Mapping) and _from_contact(e)]
        if not entries:
            continue
        model = _entry_model(name)
        data[name] = [_writable(entry, model) for entry in entries]
    for entry in data.get("names", ()):
        if entry.get("unstructuredName") in _joined_names(entry):
            del entry["unstructuredName"]  # the server derives it from the structured parts
    for entry in data.get("addresses", ()):
        if len(entry.keys() - {"formattedValue", "type"}) > 0:
            # Derived from the parts by the server (plans compare it only when a manifest sets
            # it), so leaving it out keeps exports as people write them.
            entry.pop("formattedValue", None)
    warnings: list[str] = []
    for name in SINGLETONS:
        if len(data.get(name, ())) > 1:
            warnings.append(f"{label}: kept the first of {len(data[name])} {name}")
            data[name] = data[name][:1]
    groups = []
    for membership in person.get("memberships") or []:
        resource = (membership.get("contactGroupMembership") or {}).get("contactGroupResourceName")
        if isinstance(resource, str) and resource in group_names:
            groups.append(group_names[resource])
    data["groups"] = sorted(set(groups))
    context = {"default_region": default_region}
    for _ in range(1000):  # each pass drops at least one entry, so this ends
        try:
            return ContactSpec.model_validate(data, context=context), warnings
        except ValidationError as exc:
            dropped = _drop_invalid(data, exc, label)
            if not dropped:
                raise
            warnings.extend(dropped)
    raise AssertionError("unreachable")  # pragma: no cover


def _drop_invalid(data: dict[str, Any], exc: ValidationError, label: str) -> list[str]:
    """Remove the entries a validation error points at; one warning per entry."""
    doomed: dict[str, set[int]] = {}
    reasons: dict[tuple[str, int], str] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            doomed.setdefault(loc[0], set()).add(loc[1])
            reasons.setdefault((loc[0], loc[1]), error["type"])
        elif loc and isinstance(loc[0], str) and loc[0] in data:
            doomed.setdefault(loc[0], set()).update(range(len(data[loc[0]])))
    warnings = []
    for name, indexes in doomed.items():
        for index in sorted(indexes):
            reason = reasons.get((name, index), "invalid")
            warnings.append(f"{label}: left out {name}[{index}] ({reason})")
        data[name] = [e for i, e in enumerate(data[name]) if i not in indexes]
        if not data[name]:
            del data[name]
    return warnings


def export(
    people: Iterable[Mapping[str, Any]],
    groups: Iterable[Mapping[str, Any]],
    *,
    default_region: str = DEFAULT_REGION,
) -> Export:
    """Manifests for every live contact and user contact group."""
    result = Export()
    group_names: dict[str, str] = {}
    taken_groups = _Names()
    for group in groups:
        if group.get("groupType", USER_GROUP) != USER_GROUP or not group.get("name"):
            continue
        resource = str(group.get("resourceName", ""))
        stamped = _client_data(group, NAME_KEY)
        name = taken_groups.claim(stamped or slug(str(group["name"])), "group")
        group_names[resource] = name
        result.groups.append(GroupResource(name=name, spec=GroupSpec(name=str(group["name"]))))
        if stamped is None:
            result.warnings.append(
                f"group {name}: no controller manages the live group yet, and plan refuses to "
                "create a group under the name of one it does not manage; delete or rename the "
                "live group before the first apply (its members keep their other groups)"
            )
    taken = _Names()
    for person in people:
        if (person.get("metadata") or {}).get("deleted"):
            continue
        stamped = _client_data(person, NAME_KEY)
        resource = str(person.get("resourceName", ""))
        name = taken.claim(stamped or slug(_display_name(person)), slug(resource) or "contact")
        spec, warnings = spec_from_person(
            person, group_names=group_names, default_region=default_region, label=name
        )
        result.warnings.extend(warnings)
        annotations: dict[str, str] = {}
        if _client_data(person, PRUNE_KEY) == "false":
            annotations[PRUNE_ANNOTATION] = "false"
        if stamped is None:
            if spec.emailAddresses:
                annotations[ADOPT_ANNOTATION] = "email"
            else:
                result.warnings.append(
                    f"{name}: no email address to adopt it by; applying will create a new "
                    "contact next to the existing one"
                )
        stamp = read_stamp(person.get("clientData"))
        labels = dict(stamp.labels) if stamp is not None else {}
        result.contacts.append(
            ContactResource(name=name, spec=spec, labels=labels, annotations=annotations)
        )
    return result


def _joined_names(name: Mapping[str, Any]) -> tuple[str, str]:
    """The full name as the server derives it: with the suffix after a space or a comma."""
    parts = ("honorificPrefix", "givenName", "middleName", "familyName")
    first = " ".join(str(name[part]) for part in parts if name.get(part))
    suffix = str(name.get("honorificSuffix") or "")
    if not (first and suffix):
        return first or suffix, first or suffix
    return f"{first} {suffix}", f"{first}, {suffix}"


def _display_name(person: Mapping[str, Any]) -> str:
    for name in person.get("names") or []:
        shown = name.get("displayName") or " ".join(
            part for part in (name.get("givenName"), name.get("familyName")) if part
        )
        if shown:
            return str(shown)
    for email in person.get("emailAddresses") or []:
        if email.get("value"):
            return str(email["value"]).split("@")[0]
    for org in person.get("organizations") or []:
        if org.get("name"):
            return str(org["name"])
    return ""
