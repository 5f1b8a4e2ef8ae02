"""Contact semantics: creating, updating (update-mask rules, etags, memberships) and rendering.

Stored contacts keep only what a client may write. Everything the server adds on the way out
(display names, E.164 canonical forms, formatted types, per-entry and person metadata) is
computed when rendering, so it can never drift from the stored data and a client that echoes it
back changes nothing.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

import phonenumbers

from reconciler.emulator.clock import rfc3339
from reconciler.emulator.errors import ApiError, bad_request, missing_etag, stale_etag
from reconciler.emulator.schema import OUTPUT_ONLY_SUBFIELDS, PERSON_LIST_FIELDS, SCHEMAS
from reconciler.emulator.store import (
    ADDABLE_SYSTEM_GROUPS,
    JSON,
    MY_CONTACTS,
    AddressBook,
    Contact,
)

DEPRECATED_GROUP_MESSAGE = "Cannot add contacts to deprecated system contact group"
LAST_MEMBERSHIP_MESSAGE = (
    "Invalid memberships: a contact must keep at least one contact group membership."
)
DEFAULT_PHOTO = "https://lh3.googleusercontent.com/cm/default-contact-photo"
FORMATTED_TYPES: dict[str, str] = {
    "home": "Home",
    "work": "Work",
    "other": "Other",
    "mobile": "Mobile",
    "homeFax": "Home Fax",
    "workFax": "Work Fax",
    "otherFax": "Other Fax",
    "pager": "Pager",
    "workMobile": "Work Mobile",
    "workPager": "Work Pager",
    "main": "Main",
    "googleVoice": "Google Voice",
    "blog": "Blog",
    "profile": "Profile",
    "homePage": "Home Page",
    "appInstallPage": "App Install Page",
    "ftp": "FTP",
    "reservations": "Reservations",
    "freebusy": "Free/Busy",
    "anniversary": "Anniversary",
    "spouse": "Spouse",
    "child": "Child",
    "mother": "Mother",
    "father": "Father",
    "parent": "Parent",
    "brother": "Brother",
    "sister": "Sister",
    "friend": "Friend",
    "relative": "Relative",
    "domesticPartner": "Domestic Partner",
    "manager": "Manager",
    "assistant": "Assistant",
    "referredBy": "Referred by",
    "partner": "Partner",
    "school": "School",
    "account": "Account",
    "customer": "Customer",
    "network": "Network",
    "organization": "Organization",
    "maidenName": "Maiden Name",
    "initials": "Initials",
    "shortName": "Short Name",
    "alternateName": "Alternate Name",
}
GENDERS = {"male": "Male", "female": "Female", "unspecified": "Unspecified"}


# Sub-fields that are output-only on most fields but writable on these (Google's reference:
# an address's formattedValue is "the unstructured value of the address", kept when a client
# sets it and built from the structured parts otherwise).
WRITABLE_ON: dict[str, frozenset[str]] = {"addresses": frozenset({"formattedValue"})}


def _clean(entry: Any, field: str = "") -> Any:
    """A writable entry as stored: output-only sub-fields and per-entry metadata removed."""
    if not isinstance(entry, dict):
        return entry
    keep = WRITABLE_ON.get(field, frozenset())
    return {
        k: v
        for k, v in entry.items()
        if (k not in OUTPUT_ONLY_SUBFIELDS or k in keep) and v is not None
    }


NAME_PARTS = ("honorificPrefix", "givenName", "middleName", "familyName", "honorificSuffix")


def parsed_name(entry: JSON) -> JSON:
    """A name written only as ``unstructuredName``, with given, middle and family parts added.

    Google parses a free-form name into its parts (its best guess; the rules are not
    published, see docs/people-api.md): here the first word is the given name, the last the
    family name and any words between the middle name. The reverse, ``unstructuredName`` from
    the parts, happens on every read (``_decorate``).
    """
    text = entry.get("unstructuredName")
    if not isinstance(text, str) or any(entry.get(part) for part in NAME_PARTS):
        return entry
    words = text.split()
    if not words:
        return entry
    parts: JSON = {"givenName": words[0]}
    if len(words) > 2:
        parts["middleName"] = " ".join(words[1:-1])
    if len(words) > 1:
        parts["familyName"] = words[-1]
    return {**entry, **parts}


def _memberships(
    book: AddressBook, entries: list[JSON], current: list[str], *, out_of_band: bool = False
) -> list[JSON]:
    """Writable memberships by contactGroupResourceName; groups must exist.

    ``contactGroupId`` is output only: "Only contact_group_resource_name can be used for
    modifying memberships" (discovery document, ContactGroupMembership), so an entry that names
    its group only by id is ignored, as Google ignores output-only fields it is sent. A contact
    may keep a membership in a deprecated system group, but cannot be added to one
    (``current`` is the contact's groups before the write; an out-of-band edit, as a legacy
    client would have made, may add it).
    """
    names: list[str] = []
    for entry in entries:
        group = entry.get("contactGroupMembership") or {}
        name = group.get("contactGroupResourceName")
        if not name:
            continue
        if name not in book.groups:
            raise bad_request(f"Contact group not found: {name}", field="memberships")
        system = book.groups[name].system and name not in ADDABLE_SYSTEM_GROUPS
        if system and name not in current and not out_of_band:
            raise bad_request(DEPRECATED_GROUP_MESSAGE, field="memberships")
        if name not in names:
            names.append(name)
    return [{"contactGroupMembership": {"contactGroupResourceName": n}} for n in names]


def _stored_fields(
    book: AddressBook,
    person: JSON,
    fields: list[str],
    current: list[str],
    *,
    out_of_band: bool = False,
) -> JSON:
    stored: JSON = {}
    for field in fields:
        entries = [_clean(e, field) for e in person.get(field) or []]
        if field == "memberships":
            entries = _memberships(book, entries, current, out_of_band=out_of_band)
        elif field == "names":
            entries = [parsed_name(e) for e in entries]
        if entries:
            stored[field] = entries
    return stored


def check_memberships(book: AddressBook, person: JSON) -> None:
    """Every group a new person names must exist and take members (a 400 otherwise)."""
    _memberships(book, [_clean(e) for e in person.get("memberships") or []], [])


def create(
    book: AddressBook, person: JSON, now: float, contact_id: int, writable: frozenset[str]
) -> Contact:
    """A new contact from a validated Person body; it lands in myContacts."""
    fields = _stored_fields(book, person, sorted(writable & person.keys()), [])
    memberships = fields.setdefault("memberships", [])
    if MY_CONTACTS not in [
        m["contactGroupMembership"]["contactGroupResourceName"] for m in memberships
    ]:
        memberships.insert(0, {"contactGroupMembership": {"contactGroupResourceName": MY_CONTACTS}})
    resource_name = f"people/c{contact_id}"
    seq = book.next_seq()
    return Contact(
        resource_name=resource_name,
        source_id=format(contact_id, "x"),
        fields=fields,
        etag=book.etag(resource_name, seq),
        source_etag=book.etag(resource_name, seq, "#"),
        update_time=now,
        created_at=now,
        seq=seq,
    )


def check_etag(contact: Contact, person: JSON) -> None:
    """An update must carry the current etag (top-level, or the CONTACT source's)."""
    offered: list[str] = []
    if person.get("etag"):
        offered.append(person["etag"])
    for source in (person.get("metadata") or {}).get("sources") or []:
        if source.get("etag") and source.get("type", "CONTACT") == "CONTACT":
            offered.append(source["etag"])
    if not offered:
        raise missing_etag()
    if not any(etag in (contact.etag, contact.source_etag) for etag in offered):
        raise stale_etag(source=not person.get("etag"))


def update(
    book: AddressBook,
    contact: Contact,
    person: JSON,
    mask: list[str],
    now: float,
    *,
    out_of_band: bool = False,
) -> Contact:
    """The next version: every masked field replaced whole, or cleared when left empty.

    ``out_of_band`` marks an edit made outside the API (the admin surface), which may do what
    the API refuses, such as adding a contact to a deprecated system group.
    """
    fields = dict(contact.fields)
    stored = _stored_fields(book, person, mask, contact.groups, out_of_band=out_of_band)
    for field in mask:
        if field in stored:
            fields[field] = stored[field]
        else:
            fields.pop(field, None)
    if "memberships" in mask and not fields.get("memberships"):
        raise ApiError("INVALID_ARGUMENT", LAST_MEMBERSHIP_MESSAGE)
    return book.new_version(contact, fields, now)


# rendering ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def canonical_form(value: str, region: str) -> str | None:
    """E.164 form of a phone number, or None when it cannot be parsed as one."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@functools.lru_cache(maxsize=65536)
def national_digits(value: str, region: str) -> str | None:
    """The national significant number of a phone number (``6505550100``), if it parses."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    return str(phonenumbers.national_significant_number(number))


def _display_names(name: JSON) -> tuple[str, str]:
    given = " ".join(p for p in (name.get("givenName"), name.get("middleName")) if p)
    family = name.get("familyName") or ""
    first = " ".join(p for p in (name.get("honorificPrefix"), given, family) if p)
    suffix = name.get("honorificSuffix")
    display = f"{first}, {suffix}" if first and suffix else first or suffix or ""
    last_first = f"{family}, {given}" if family and given else family or given
    if suffix and last_first:
        last_first = f"{last_first}, {suffix}"
    if not display:
        display = last_first = name.get("unstructuredName") or ""
    return display, last_first


def _decorate(field: str, entry: JSON, index: int, source: JSON, region: str) -> JSON:
    out = dict(entry)
    # The first entry is the primary one for the person and for its source; the others carry
    # no primary flag at all, never ``primary: false`` (as in real responses, docs/people-api.md
    # "Field metadata"). Memberships have no primary entry.
    meta: JSON = {"source": dict(source)}
    if index == 0 and field != "memberships":
        meta = {"primary": True, "sourcePrimary": True, "source": dict(source)}
    kind = SCHEMAS[PERSON_LIST_FIELDS[field]]
    if "formattedType" in kind and entry.get("type"):
        out["formattedType"] = FORMATTED_TYPES.get(entry["type"], entry["type"])
    if field == "names":
        display, last_first = _display_names(entry)
        if display:
            out["displayName"] = display
            out["displayNameLastFirst"] = last_first
            out.setdefault("unstructuredName", display)
    elif field == "phoneNumbers" and isinstance(entry.get("value"), str):
        canonical = canonical_form(entry["value"], region)
        if canonical:
            out["canonicalForm"] = canonical
    elif field == "genders" and entry.get("value"):
        out["formattedValue"] = GENDERS.get(entry["value"], entry["value"])
    elif field == "addresses":
        locality = " ".join(
            p for p in (entry.get("city"), entry.get("region"), entry.get("postalCode")) if p
        )
        lines = [
            entry.get("streetAddress"),
            entry.get("extendedAddress"),
            locality,
            entry.get("country"),
        ]
        formatted = "\n".join(p for p in lines if p)
        if formatted and not entry.get("formattedValue"):
            out["formattedValue"] = formatted
    elif field == "imClients" and entry.get("protocol"):
        protocol = entry["protocol"]
        out["formattedProtocol"] = protocol[:1].upper() + protocol[1:]
    elif field == "memberships":
        group = dict(entry["contactGroupMembership"])
        group["contactGroupId"] = group["contactGroupResourceName"].split("/", 1)[1]
        out["contactGroupMembership"] = group
    out["metadata"] = meta
    return out


_MISSING = object()
_RENDERED: weakref.WeakKeyDictionary[Contact, tuple[str, dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _render_field(contact: Contact, field: str, region: str) -> Any:
    """One field of a contact as the API shows it, or None when the contact has none."""
    source = {"type": "CONTACT", "id": contact.source_id}
    if field == "metadata":
        return {
            "sources": [
                {**source, "etag": contact.source_etag, "updateTime": rfc3339(contact.update_time)}
            ],
            "objectType": "PERSON",
        }
    if field == "photos":
        photo: JSON = {
            "metadata": {"primary": True, "source": dict(source)},
            "url": contact.photo_url or DEFAULT_PHOTO,
        }
        if contact.photo_url is None:
            photo["default"] = True
        return [photo]
    entries = contact.fields.get(field)
    if not entries:
        return None
    return [_decorate(field, entry, i, source, region) for i, entry in enumerate(entries)]


def render(contact: Contact, fields: list[str] | frozenset[str], region: str) -> JSON:
    """The Person JSON a read returns: ``resourceName``, ``etag`` and the requested fields.

    Contacts are immutable, so each field is rendered once per version and shared by every
    later read (callers must not mutate what they get back below the top level).
    """
    cached = _RENDERED.get(contact)
    if cached is None or cached[0] != region:
        cached = (region, {})
        _RENDERED[contact] = cached
    rendered = cached[1]
    out: JSON = {"resourceName": contact.resource_name, "etag": contact.etag}
    for field in fields:
        value = rendered.get(field, _MISSING)
        if value is _MISSING:
            value = rendered[field] = _render_field(contact, field, region)
        if value is not None:
            out[field] = value
    return out


def render_tombstone(resource_name: str, etag: str) -> JSON:
    """How a deleted contact appears in an incremental sync."""
    return {"resourceName": resource_name, "etag": etag, "metadata": {"deleted": True}}
