"""vCard 3.0 out: manifests as cards, through vobject (see :mod:`reconciler.formats.vcard`).

Every field a card can hold goes into its property (a custom type as ``itemN.X-ABLabel``);
what it cannot hold in full also travels as exact JSON in ``X-RECONCILER-FIELDS``, and the
manifest name, labels and annotations as ``X-RECONCILER-*`` properties, so an import of the
export gives the same manifests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import vobject

from reconciler.formats.kinds import label_of
from reconciler.formats.records import Holds, Written, exact_json, holds, join_date
from reconciler.formats.vcard import (
    GENDER_CODES,
    PHONE_TOKENS,
    PHONETIC,
    SIMPLE_TYPES,
)
from reconciler.manifest.resources import ContactResource, GroupResource

_NAME_PARTS: Final = frozenset(
    {
        "givenName",
        "familyName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
        *PHONETIC.values(),
    }
)
_HOLDS: Final[Holds] = {
    "names": (_NAME_PARTS, 1),
    "nicknames": (frozenset({"value"}), None),
    "emailAddresses": (frozenset({"value", "type"}), None),
    "phoneNumbers": (frozenset({"value", "type"}), None),
    "addresses": (
        frozenset({"type", "poBox", "extendedAddress", "streetAddress", "city", "region",
                   "postalCode", "country"}),
        None,
    ),
    "organizations": (frozenset({"name", "department", "title", "type"}), 1),
    "birthdays": (frozenset({"date"}), 1),
    "events": (frozenset({"date", "type"}), None),
    "biographies": (frozenset({"value"}), 1),
    "urls": (frozenset({"value", "type"}), None),
    "genders": (frozenset({"value"}), 1),
    "locales": (frozenset({"value"}), None),
    "imClients": (frozenset({"username", "protocol", "type"}), None),
}  # fmt: skip


def _holds(field_name: str, entries: list[dict[str, Any]]) -> bool:
    if field_name == "names" and [set(e) for e in entries] == [{"unstructuredName"}]:
        return True  # FN alone
    if field_name == "events" and any(str(e.get("type")).lower() != "anniversary" for e in entries):
        return False
    if field_name == "nicknames" and any("," in str(e.get("value")) for e in entries):
        return False
    return holds(_HOLDS, field_name, entries)


class _Card:
    def __init__(self) -> None:
        self.card = vobject.vCard()
        self.items = 0

    def add(
        self, name: str, value: Any, kind: str | None = None, tokens: Sequence[str] = ()
    ) -> None:
        """Add a property; a type without a vCard token goes into an itemN.X-ABLabel."""
        if kind and not tokens:
            if kind.lower() in SIMPLE_TYPES:
                tokens = [kind.upper()]
            else:
                self.items += 1
                group = f"item{self.items}"
                prop = self.card.add(f"{group}.{name}")
                prop.value = value
                self.card.add(f"{group}.x-ablabel").value = label_of(kind)
                return
        prop = self.card.add(name)
        prop.value = value
        if tokens:
            prop.type_paramlist = [token.upper() for token in tokens]


def write(contacts: Sequence[ContactResource], groups: Sequence[GroupResource]) -> Written:
    """Contacts as vCard 3.0 text, and a warning for each value it cannot hold."""
    titles = {group.name: group.spec.name for group in groups}
    warnings: list[str] = []
    texts = [_write_card(contact, titles, warnings) for contact in contacts]
    return Written("".join(texts), warnings)


def _write_card(contact: ContactResource, titles: dict[str, str], warnings: list[str]) -> str:
    fields = contact.spec.person_fields()
    exact = exact_json(fields, _holds)
    if exact:
        left = sorted(name for name in fields if fields[name] and not _holds(name, fields[name]))
        warnings.append(
            f"{contact.name}: {', '.join(left)} only in X-RECONCILER-FIELDS, "
            "which other programs do not read"
        )
    out = _Card()
    shown = ""  # FN is required; left empty it reads back as no name at all
    for name in fields.get("names", [])[:1]:
        parts = [name.get(k) for k in ("givenName", "middleName", "familyName")]
        shown = " ".join(str(p) for p in parts if p) or str(name.get("unstructuredName") or "")
        if name.keys() - {"unstructuredName"}:
            out.add(
                "n",
                vobject.vcard.Name(
                    family=name.get("familyName", ""),
                    given=name.get("givenName", ""),
                    additional=name.get("middleName", ""),
                    prefix=name.get("honorificPrefix", ""),
                    suffix=name.get("honorificSuffix", ""),
                ),
            )
    out.add("fn", shown)
    for name in fields.get("names", [])[:1]:
        for prop, key in PHONETIC.items():
            if name.get(key):
                out.add(prop.lower(), name[key])
    if fields.get("nicknames"):
        out.add("nickname", ",".join(str(n["value"]) for n in fields["nicknames"]))
    for email in fields.get("emailAddresses", []):
        out.add("email", email["value"], email.get("type"))
    for phone in fields.get("phoneNumbers", []):
        kind = phone.get("type")
        out.add("tel", phone["value"], kind, PHONE_TOKENS.get(kind or "", ()))
    for address in fields.get("addresses", []):
        out.add(
            "adr",
            vobject.vcard.Address(
                box=address.get("poBox", ""),
                extended=address.get("extendedAddress", ""),
                street=address.get("streetAddress", ""),
                city=address.get("city", ""),
                region=address.get("region", ""),
                code=address.get("postalCode", ""),
                country=address.get("country", ""),
            ),
            address.get("type"),
        )
    for organization in fields.get("organizations", [])[:1]:
        org = [organization.get("name", "")]
        if organization.get("department"):
            org.append(organization["department"])
        if any(org):
            out.add("org", org, organization.get("type"))
        if organization.get("title"):
            out.add("title", organization["title"])
    for birthday in fields.get("birthdays", [])[:1]:
        out.add("bday", join_date(birthday["date"]) if "date" in birthday else birthday["text"])
    for event in fields.get("events", []):
        if (event.get("type") or "").lower() == "anniversary":
            out.add("x-anniversary", join_date(event["date"]))
    for biography in fields.get("biographies", [])[:1]:
        out.add("note", biography["value"])
    for url in fields.get("urls", []):
        out.add("url", url["value"], url.get("type"))
    for gender in fields.get("genders", [])[:1]:
        code = GENDER_CODES.get(str(gender["value"]).lower())
        out.add("gender", code if code else f";{gender['value']}")
    for locale in fields.get("locales", []):
        out.add("lang", locale["value"])
    for im in fields.get("imClients", []):
        protocol = im.get("protocol")
        out.add(
            "impp", f"{protocol}:{im['username']}" if protocol else im["username"], im.get("type")
        )
    if contact.spec.groups:
        out.add("categories", [titles.get(g, g) for g in contact.spec.groups])
    out.add("x-reconciler-name", contact.name)
    if exact:
        out.add("x-reconciler-fields", exact)
    for key, value in contact.labels.items():
        out.add("x-reconciler-label", f"{key}={value}")
    for key, value in contact.annotations.items():
        out.add("x-reconciler-annotation", f"{key}={value}")
    return str(out.card.serialize())
