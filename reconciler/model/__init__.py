"""Normalised views of contacts: what counts as equal, and who owns what.

The model layer knows the shape of People API persons and groups (plain JSON dicts), which of
their parts the server owns, how to compare two values without tripping over server formatting,
and how ownership is stamped in ``clientData``. It does no I/O.
"""

from reconciler.model.fields import (
    MY_CONTACTS,
    PERSON_WRITABLE_FIELDS,
    SINGLETON_FIELDS,
)
from reconciler.model.inputs import (
    ADOPT_ANNOTATION,
    PREVIOUS_NAMES_ANNOTATION,
    PRUNE_ANNOTATION,
    SUSPEND_ANNOTATION,
    ContactLike,
    ContactSpecLike,
    DesiredState,
    GroupLike,
    GroupSpecLike,
    LiveState,
    Person,
    previous_names,
)
from reconciler.model.normalize import Normalizer
from reconciler.model.stamps import (
    FIELDS_KEY,
    NAME_KEY,
    OWNER_KEY,
    PRUNE_KEY,
    STAMP_KEYS,
    Stamp,
    foreign_entries,
    read_stamp,
)

__all__ = [
    "ADOPT_ANNOTATION",
    "FIELDS_KEY",
    "MY_CONTACTS",
    "NAME_KEY",
    "OWNER_KEY",
    "PERSON_WRITABLE_FIELDS",
    "PREVIOUS_NAMES_ANNOTATION",
    "PRUNE_ANNOTATION",
    "PRUNE_KEY",
    "SINGLETON_FIELDS",
    "STAMP_KEYS",
    "SUSPEND_ANNOTATION",
    "ContactLike",
    "ContactSpecLike",
    "DesiredState",
    "GroupLike",
    "GroupSpecLike",
    "LiveState",
    "Normalizer",
    "Person",
    "Stamp",
    "foreign_entries",
    "previous_names",
    "read_stamp",
]
