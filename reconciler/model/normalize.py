"""Comparing People API values the way a person would, not byte by byte.

The server rewrites what it is sent: it adds ``formattedType``, ``canonicalForm``,
``displayName`` and per-entry ``metadata``, may reorder entries, and keeps phone numbers as
typed. Two values are equal here when they mean the same contact data: phone numbers by their
E.164 form, email addresses case-insensitively, strings in Unicode NFC with outer whitespace
removed, list order ignored, empty sub-fields dropped.

Order is ignored for every multi-valued field: the API returns entries in an order of its own
choosing (the primary one first), so an order difference is never evidence of drift, and
re-sending a list only to reorder it would loop forever against a server that reorders.

Comparison takes a fast path first (the live value, stripped of server-owned parts, is exactly
what was sent), and only falls back to full canonicalisation (phone parsing) when that fails, so
an unchanged address book costs no phone parsing at all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers

from reconciler.model.fields import (
    DERIVED_KEYS,
    FIELD_OUTPUT_ONLY_KEYS,
    OUTPUT_ONLY_KEYS,
    PARSED_KEYS,
)

Entry = dict[str, Any]
Canonical = tuple[Any, ...]

_NO_KEYS: frozenset[str] = frozenset()


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C (cheap when it already is)."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=65536)
def e164(value: str, region: str) -> str:
    """The E.164 form of a phone number typed in any format, or its bare digits if unparseable."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    return digits or nfc(value).strip().casefold()


_EMPTY: tuple[Any, ...] = ("", None, [], {})
_MISSING = object()
_skips: dict[frozenset[str], frozenset[str]] = {}


def _skip(drop: frozenset[str]) -> frozenset[str]:
    skip = _skips.get(drop)
    if skip is None:
        skip = _skips[drop] = OUTPUT_ONLY_KEYS | drop
    return skip


def _same_as_sent(
    desired: Sequence[Mapping[str, Any]], live: Sequence[Any], skip: frozenset[str]
) -> bool:
    """Whether ``live`` is exactly ``desired`` plus sub-fields in ``skip``, in the same order.

    Builds nothing, so the common case (nothing changed) is cheap; anything else, including an
    equivalent value, answers False and is left to the full comparison.
    """
    if len(desired) != len(live):
        return False
    for want, have in zip(desired, live, strict=True):
        if type(have) is not dict:
            return False
        seen = 0
        for key, value in have.items():
            if key in skip:
                continue
            if want.get(key, _MISSING) != value:
                return False
            seen += 1
        if seen != len(want):
            return False
    return True


def clean_entry(entry: Mapping[str, Any], drop: frozenset[str] = _NO_KEYS) -> Entry:
    """``entry`` without server-owned sub-fields, empty sub-fields and the keys in ``drop``."""
    skip = _skip(drop)
    out = {k: v for k, v in entry.items() if k not in skip and v not in _EMPTY}
    for key in [k for k, v in out.items() if type(v) is dict]:
        inner = clean_entry(out[key])
        if inner:
            out[key] = inner
        else:
            del out[key]
    return out


_drops: dict[tuple[str, frozenset[str]], frozenset[str]] = {}


def _drop(field: str, keep: frozenset[str]) -> frozenset[str]:
    """Sub-fields of ``field`` to leave out of a comparison (memoised: few distinct inputs).

    ``keep`` holds the derived and parsed sub-fields the desired value declares: derived ones
    not declared are dropped, and when only derived ones are declared, so are the parsed ones.
    """
    found = _drops.get((field, keep))
    if found is None:
        derived = DERIVED_KEYS.get(field, _NO_KEYS)
        parsed = PARSED_KEYS.get(field, _NO_KEYS)
        found = FIELD_OUTPUT_ONLY_KEYS.get(field, _NO_KEYS) | (derived - keep)
        if keep & derived and not keep & parsed:
            found |= parsed
        _drops[(field, keep)] = found
    return found


@dataclass(frozen=True)
class Normalizer:
    """Field-aware comparison of person values.

    ``default_region`` is the region used to read phone numbers written without a country code
    (``(650) 555-0100`` is ``+16505550100`` with region ``US``).
    """

    default_region: str = "US"

    def clean(
        self,
        field: str,
        entries: Sequence[Mapping[str, Any]] | None,
        keep: frozenset[str] = _NO_KEYS,
    ) -> list[Entry]:
        """Entries of ``field`` without server-owned parts (for display and for comparison).

        Derived sub-fields (``names[].unstructuredName``) are dropped unless listed in ``keep``.
        """
        if not entries:
            return []
        drop = _drop(field, keep)
        cleaned = [clean_entry(entry, drop) for entry in entries if isinstance(entry, dict)]
        return [entry for entry in cleaned if entry]

    def declared_derived(self, field: str, entries: Iterable[Mapping[str, Any]]) -> frozenset[str]:
        """The derived (and parsed) sub-fields a desired value sets explicitly, so compared."""
        derived = DERIVED_KEYS.get(field)
        if not derived:
            return _NO_KEYS
        derived = derived | PARSED_KEYS.get(field, _NO_KEYS)
        return frozenset(key for entry in entries for key in derived if key in entry)

    def equal(
        self,
        field: str,
        desired: Sequence[Mapping[str, Any]] | None,
        live: Sequence[Mapping[str, Any]] | None,
    ) -> bool:
        """Whether ``live`` already holds what ``desired`` asks for in ``field``."""
        keep = self.declared_derived(field, desired or ()) if field in DERIVED_KEYS else _NO_KEYS
        if desired and live and _same_as_sent(desired, live, _skip(_drop(field, keep))):
            return True  # the usual case: the server kept what was sent, plus its own parts
        have = self.clean(field, live, keep)
        if not have and not desired:
            return True
        want = self.clean(field, desired, keep)
        if want == have:
            return True
        if len(want) != len(have):
            return False
        return self.canonical(field, want) == self.canonical(field, have)

    def canonical(self, field: str, entries: Sequence[Mapping[str, Any]]) -> Canonical:
        """A hashable, order-free form of cleaned ``entries`` of ``field``."""
        forms = [self._canonical_entry(field, entry) for entry in entries]
        try:
            forms.sort()
        except TypeError:  # mixed value types under one key: any total order will do
            forms.sort(key=repr)
        return tuple(forms)

    def _canonical_entry(self, field: str, entry: Mapping[str, Any]) -> Canonical:
        # Keys are unique within an entry, so sorting never compares the values.
        return tuple(
            sorted((key, self._canonical_value(field, key, value)) for key, value in entry.items())
        )

    def _canonical_value(self, field: str, key: str, value: Any) -> Any:
        if type(value) is str:
            text = nfc(value).strip()
            if key == "value" and field == "phoneNumbers":
                return e164(text, self.default_region)
            if key == "type" or (key == "value" and field == "emailAddresses"):
                return text.casefold()
            return text
        if isinstance(value, Mapping):
            return self._canonical_entry(field, value)
        if isinstance(value, list):
            return tuple(self._canonical_value(field, key, item) for item in value)
        return value
