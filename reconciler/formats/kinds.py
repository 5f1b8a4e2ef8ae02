"""Entry types as address books label them, and as the People API names them.

Google Contacts shows ``Mobile``, ``Work Fax``, ``Google Voice`` where the API says ``mobile``,
``workFax``, ``googleVoice``; a label of the user's own (``Sales line``) is a custom type and is
kept exactly as written. A leading ``* `` marks the primary entry in Google's CSV and is not part
of the label. Both directions are here so that an import of an export gives the same types.
"""

from __future__ import annotations

_KNOWN = (
    "home",
    "work",
    "other",
    "mobile",
    "main",
    "homeFax",
    "workFax",
    "otherFax",
    "pager",
    "workMobile",
    "workPager",
    "googleVoice",
    "school",
    "blog",
    "profile",
    "homePage",
    "appInstallPage",
    "ftp",
    "reservations",
    "anniversary",
    "spouse",
    "child",
    "mother",
    "father",
    "parent",
    "brother",
    "sister",
    "friend",
    "relative",
    "domesticPartner",
    "manager",
    "assistant",
    "referredBy",
    "partner",
)


def _label(kind: str) -> str:
    """``workFax`` -> ``Work Fax``."""
    words: list[str] = []
    for char in kind:
        if char.isupper() and words:
            words.append(" ")
        words.append(char)
    return "".join(words).title()


_TO_TYPE = {_label(kind).casefold(): kind for kind in _KNOWN}
_TO_LABEL = {kind: _label(kind) for kind in _KNOWN}
PRIMARY = "* "


def type_of(label: str) -> str | None:
    """The People API type for a label (``* Work Fax`` -> ``workFax``); None when empty."""
    text = label.strip()
    if text.startswith("*"):
        text = text[1:].strip()
    if not text:
        return None
    return _TO_TYPE.get(text.casefold(), text)


def label_of(kind: str | None) -> str:
    """The label an address book shows for a People API type (``workFax`` -> ``Work Fax``)."""
    if not kind:
        return ""
    return _TO_LABEL.get(kind, kind)
