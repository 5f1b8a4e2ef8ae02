"""The People API's field catalogue, as far as comparing and writing contacts needs it.

Taken from the discovery document (``people.v1.json``): which person fields are writable, which
are singletons, and which sub-fields the server fills in by itself (``Output only``). A diff must
ignore the latter or every plan after an apply would show phantom changes.
"""

from __future__ import annotations

PERSON_WRITABLE_FIELDS: frozenset[str] = frozenset(
    {
        "addresses",
        "biographies",
        "birthdays",
        "calendarUrls",
        "clientData",
        "emailAddresses",
        "events",
        "externalIds",
        "genders",
        "imClients",
        "interests",
        "locales",
        "locations",
        "memberships",
        "miscKeywords",
        "names",
        "nicknames",
        "occupations",
        "organizations",
        "phoneNumbers",
        "relations",
        "sipAddresses",
        "urls",
        "userDefined",
    }
)

# Fields a contact may hold at most one entry of (more is a 400).
SINGLETON_FIELDS: frozenset[str] = frozenset({"names", "biographies", "birthdays", "genders"})

# Fields that the reconciler handles specially rather than as plain "declared" fields:
# clientData carries the ownership stamp, memberships follow from owned groups.
SPECIAL_FIELDS: frozenset[str] = frozenset({"clientData", "memberships"})

# Sub-fields the server owns on every entry (``Output only`` in the discovery document, plus the
# per-entry ``metadata`` that holds ``primary``/``verified``/``source``).
OUTPUT_ONLY_KEYS: frozenset[str] = frozenset(
    {
        "metadata",
        "formattedType",
        "formattedProtocol",
        "displayName",
        "displayNameLastFirst",
        "canonicalForm",
    }
)

# Output-only sub-fields that exist on one field only (their names mean something writable
# elsewhere: ``formattedValue`` is writable on addresses).
FIELD_OUTPUT_ONLY_KEYS: dict[str, frozenset[str]] = {
    "genders": frozenset({"formattedValue"}),
}

# Writable sub-fields that the server derives when a client leaves them out. They are compared
# only when the manifest declares them; otherwise whatever the server filled in is ignored.
DERIVED_KEYS: dict[str, frozenset[str]] = {
    "names": frozenset({"unstructuredName"}),
    "addresses": frozenset({"formattedValue"}),
}

# The reverse derivation: sub-fields the server parses out of a derived one when a value
# declares only that (a name written only as ``unstructuredName`` comes back with given and
# family names, Google's best guess; docs/people-api.md, "Names"). They are compared only when
# the manifest declares them, so a manifest that uses either form alone never loops.
PARSED_KEYS: dict[str, frozenset[str]] = {
    "names": frozenset(
        {"honorificPrefix", "givenName", "middleName", "familyName", "honorificSuffix"}
    ),
}

MY_CONTACTS = "contactGroups/myContacts"
STARRED = "contactGroups/starred"

USER_GROUP_TYPE = "USER_CONTACT_GROUP"
