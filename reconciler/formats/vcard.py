"""vCard 3.0 (RFC 2426) and 4.0 (RFC 6350), read and written through vobject.

vobject does the parts that are easy to get wrong by hand: line folding, escaping of ``,;\\``,
quoted-printable, structured values (``N``, ``ADR``, ``ORG``). This module maps properties to
People API fields and back. A type the standard has no token for (a label of the user's own)
travels as Apple's and Google's ``itemN.X-ABLabel`` beside the property, and the manifest name,
labels and annotations as ``X-RECONCILER-*`` properties that other programs ignore; a field
vCard cannot hold in full travels as exact JSON in ``X-RECONCILER-FIELDS`` and wins on import.
Phonetic names use Apple's ``X-PHONETIC-*-NAME`` properties. This module reads; writing is in
:mod:`reconciler.formats.vcard_write`.

Errors are located at the property's line. vobject's own line numbers are unreliable, so the
lines are counted here from the text itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

import vobject
from vobject.base import ParseError

from reconciler.formats.kinds import type_of
from reconciler.formats.records import (
    Draft,
    Parsed,
    split_date,
)
from reconciler.manifest.errors import Location

# Type tokens of vCard TEL, and the People API phone type each set of them means.
_PHONE_TYPES: Final = (
    ({"work", "cell"}, "workMobile"),
    ({"work", "fax"}, "workFax"),
    ({"home", "fax"}, "homeFax"),
    ({"work", "pager"}, "workPager"),
    ({"fax"}, "otherFax"),
    ({"pager"}, "pager"),
    ({"cell"}, "mobile"),
    ({"main"}, "main"),
    ({"work"}, "work"),
    ({"home"}, "home"),
    ({"other"}, "other"),
)
PHONE_TOKENS: Final = {kind: sorted(tokens) for tokens, kind in _PHONE_TYPES}
# Tokens that say something about the medium, not which entry it is: never a type.
_NOISE: Final = frozenset(
    {"pref", "internet", "x400", "voice", "msg", "video", "text", "textphone", "postal", "parcel",
     "dom", "intl", "bbs", "modem", "car", "isdn", "pcs"}
)  # fmt: skip
SIMPLE_TYPES: Final = frozenset({"work", "home", "other"})
# Properties that carry nothing a manifest holds; a value in one is reported as left out.
_QUIET: Final = frozenset({"VERSION", "PRODID", "UID", "REV", "FN", "X-ABLABEL", "KIND"})
PHONETIC: Final = {
    "X-PHONETIC-FIRST-NAME": "phoneticGivenName",
    "X-PHONETIC-MIDDLE-NAME": "phoneticMiddleName",
    "X-PHONETIC-LAST-NAME": "phoneticFamilyName",
}
_VOBJECT_LINE: Final = re.compile(r"^At line \d+: ")  # its own (doubled) count; ours is right
_GENDERS: Final = {"M": "male", "F": "female", "O": "other", "N": "unspecified", "U": "unspecified"}
GENDER_CODES: Final = {"male": "M", "female": "F", "other": "O", "unspecified": "U"}


def looks_like(text: str) -> bool:
    return text.lstrip("\ufeff \r\n\t")[:11].upper() == "BEGIN:VCARD"


def read(text: str, path: str) -> Parsed:
    """Drafts from vCard text (any number of cards, 3.0 or 4.0)."""
    parsed = Parsed()
    text = text.removeprefix("\ufeff")
    by_card: dict[int, dict[str, list[int]]] = {}
    for card_index, number, name in _property_lines(text):
        by_card.setdefault(card_index, {}).setdefault(name, []).append(number)
    try:
        cards = list(vobject.readComponents(text, validate=False))
    except (ParseError, ValueError, TypeError) as exc:
        line = getattr(exc, "lineNumber", None)
        parsed.error(
            Location(path, _nearest(line), 1),
            f"not a valid vCard: {_VOBJECT_LINE.sub('', str(exc))}",
            "every card runs from BEGIN:VCARD to END:VCARD, one NAME:value property a line",
        )
        return parsed
    for index, card in enumerate(cards):
        if card.name != "VCARD":
            continue
        where = _CardLines(path, by_card.get(index, {}))
        _card(card, where, parsed)
    return parsed


def _nearest(reported: Any) -> int:
    if not isinstance(reported, int):
        return 1
    return max(1, (reported + 1) // 2)  # vobject counts every line twice


def _property_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """(card index, line, property name) for every unfolded property line, in order."""
    card = -1
    for number, line in enumerate(text.splitlines(), start=1):
        if not line or line[0] in " \t":
            continue  # folded continuation or blank
        head = re.split(r"[;:]", line, maxsplit=1)[0].upper()
        name = head.rsplit(".", 1)[-1]
        if name == "BEGIN" and line.upper().startswith("BEGIN:VCARD"):
            card += 1
        yield card, number, name


class _CardLines:
    """Where each property of one card was written: the k-th NAME is at the k-th NAME line."""

    def __init__(self, path: str, by_name: dict[str, list[int]]) -> None:
        self.path = path
        self.by_name = by_name
        self.start = by_name.get("BEGIN", [1])[0]

    def at(self, name: str, occurrence: int) -> Location:
        found = self.by_name.get(name.upper(), [])
        line = found[occurrence] if occurrence < len(found) else self.start
        return Location(self.path, line, 1)


def _tokens(prop: Any) -> set[str]:
    tokens: set[str] = set()
    for value in prop.params.get("TYPE", []):
        tokens |= {part.strip().strip('"').lower() for part in str(value).split(",")}
    return tokens - {""}


def _text(value: Any) -> str:
    """A property value as one string; a list (``ing. jr,M.Sc.``) joined with commas."""
    if isinstance(value, list):
        return ", ".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


def _card(card: Any, where: _CardLines, parsed: Parsed) -> None:
    draft = Draft(Location(where.path, where.start, 1))
    labels = {
        prop.group.upper(): _text(prop.value)
        for prop in card.contents.get("x-ablabel", [])
        if prop.group
    }
    for key, props in card.contents.items():
        name = key.upper()
        for occurrence, prop in enumerate(props):
            at = where.at(name, occurrence)
            custom = labels.get((prop.group or "").upper())
            _property(draft, name, prop, at, custom, parsed)
    if "names" not in draft.person:
        for prop in card.contents.get("fn", [])[:1]:
            if _text(prop.value):
                draft.add("names", {"unstructuredName": _text(prop.value)}, where.at("FN", 0))
    titles = card.contents.get("title", [])
    if titles:
        title = _text(titles[0].value)
        if "organizations" in draft.person:
            draft.person["organizations"][0]["title"] = title
        else:
            draft.add("organizations", {"title": title}, where.at("TITLE", 0))
    parsed.drafts.append(draft)


def _property(
    draft: Draft, name: str, prop: Any, at: Location, custom: str | None, parsed: Parsed
) -> None:
    value = prop.value
    tokens = _tokens(prop)
    simple = custom or next(iter(sorted(tokens & SIMPLE_TYPES)), None)
    typed = {"type": type_of(simple)} if simple else {}
    if name == "N":
        entry = {
            "familyName": _text(value.family),
            "givenName": _text(value.given),
            "middleName": _text(value.additional),
            "honorificPrefix": _text(value.prefix),
            "honorificSuffix": _text(value.suffix),
        }
        entry = {k: v for k, v in entry.items() if v}
        if entry and "names" in draft.person:
            draft.person["names"][0].update(entry)
            draft.places[("names", 0)] = at
        elif entry:
            draft.add("names", entry, at)
    elif name == "NICKNAME":
        for part in _list(value):
            draft.add("nicknames", {"value": part}, at)
    elif name == "EMAIL":
        draft.add("emailAddresses", {"value": _text(value), **typed}, at)
    elif name == "TEL":
        draft.add(
            "phoneNumbers", {"value": _phone(_text(value)), **_phone_type(tokens, custom)}, at
        )
    elif name == "ADR":
        entry = {
            "poBox": _text(value.box),
            "extendedAddress": _text(value.extended),
            "streetAddress": _text(value.street),
            "city": _text(value.city),
            "region": _text(value.region),
            "postalCode": _text(value.code),
            "country": _text(value.country),
        }
        entry = {k: v for k, v in entry.items() if v}
        if entry:
            draft.add("addresses", {**entry, **typed}, at)
    elif name == "ORG":
        parts = [str(p).strip() for p in (value if isinstance(value, list) else [value])]
        entry = {"name": parts[0]} if parts and parts[0] else {}
        if len(parts) > 1 and parts[1]:
            entry["department"] = parts[1]
        draft.add("organizations", {**entry, **typed}, at)
    elif name in ("BDAY", "ANNIVERSARY", "X-ANNIVERSARY"):
        date = split_date(_text(value))
        if name == "BDAY":
            draft.add("birthdays", {"date": date} if date else {"text": _text(value)}, at)
        elif date is None:
            parsed.error(at, f"{name} {_text(value)!r} is not a date", "write it as YYYY-MM-DD")
        else:
            draft.add("events", {"date": date, "type": "anniversary"}, at)
    elif name == "NOTE":
        draft.add("biographies", {"value": str(value)}, at)
    elif name == "URL":
        draft.add("urls", {"value": _text(value), **typed}, at)
    elif name == "CATEGORIES":
        for group in _list(value):
            if group not in draft.groups:
                draft.groups.append(group)
    elif name == "GENDER":
        sex, _, identity = _text(value).partition(";")
        gender = identity.strip() or _GENDERS.get(sex.strip().upper(), sex.strip())
        if gender:
            draft.add("genders", {"value": gender}, at)
    elif name == "LANG":
        draft.add("locales", {"value": _text(value)}, at)
    elif name == "IMPP":
        protocol, colon, username = _text(value).partition(":")
        entry = {"username": username, "protocol": protocol} if colon else {"username": protocol}
        draft.add("imClients", {**entry, **typed}, at)
    elif name == "X-RECONCILER-NAME":
        draft.name = _text(value)
    elif name == "X-RECONCILER-FIELDS":
        draft.carry(str(value), at, parsed)
    elif name in PHONETIC:
        if _text(value):
            names = draft.person.setdefault("names", [{}])
            names[0][PHONETIC[name]] = _text(value)
            draft.places.setdefault(("names", 0), at)
    elif name in ("X-RECONCILER-LABEL", "X-RECONCILER-ANNOTATION"):
        key, equals, item = _text(value).partition("=")
        if not equals or not key.strip():
            parsed.error(at, f"{name} {_text(value)!r} is not KEY=VALUE", "write key=value")
        elif name == "X-RECONCILER-LABEL":
            draft.labels[key.strip()] = item.strip()
        else:
            draft.annotations = {**(draft.annotations or {}), key.strip(): item.strip()}
    elif name not in _QUIET and name not in ("TITLE", "BEGIN", "END"):
        parsed.warnings.append(f"{at}: left out {name}: manifests have no field for it")


def _list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _phone(value: str) -> str:
    """``tel:+1-418-656-9254;ext=102`` (a vCard 4.0 URI) -> ``+1-418-656-9254 ext. 102``."""
    number = value.removeprefix("tel:")
    number, _, params = number.partition(";")
    for param in params.split(";"):
        key, _, extension = param.partition("=")
        if key.lower() == "ext" and extension:
            number = f"{number} ext. {extension}"
    return number


def _phone_type(tokens: set[str], custom: str | None) -> dict[str, str]:
    if custom:
        kind = type_of(custom)
        return {"type": kind} if kind else {}
    for wanted, kind in _PHONE_TYPES:
        if wanted <= tokens:
            return {"type": kind}
    unknown = sorted(tokens - _NOISE)
    return {"type": unknown[0]} if unknown else {}
