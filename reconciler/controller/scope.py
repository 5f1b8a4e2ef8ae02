"""Scoped passes: reading a few known contacts by name instead of listing the address book.

A pass over a few known contacts (drift, retries) reads just those contacts by resource name
(one ``getBatchGet`` per 200) instead of listing the whole address book, plans only them and
never prunes. Anything it cannot read by name (deleted meanwhile, stamp gone) raises
:class:`ScopeMiss` and the pass falls back to a full one, because only a full listing may decide
that a contact is missing and must be created: that is how duplicates are made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from reconciler.apply.executor import ItemResult
from reconciler.model import DesiredState, read_stamp
from reconciler.model.inputs import Person
from reconciler.model.limits import MAX_BATCH_GET
from reconciler.people.batching import chunks

__all__ = ["ScopeMiss", "read_scope", "scoped_desired"]

BatchGet = Callable[[Sequence[str]], Awaitable[Mapping[str, ItemResult]]]


class ScopeMiss(Exception):
    """A contact of a scoped pass could not be read by name; only a full pass may decide."""


async def read_scope(batch_get: BatchGet, names: Sequence[str], owner: str) -> list[Person]:
    """The contacts ``names``, read by name; raises :class:`ScopeMiss` for one that is gone or
    no longer stamped by ``owner``."""
    people: list[Person] = []
    for batch in chunks(names, MAX_BATCH_GET):
        answers = await batch_get(batch)
        for name in batch:
            answer = answers.get(name)
            if not isinstance(answer, dict) or (answer.get("metadata") or {}).get("deleted"):
                raise ScopeMiss(name)
            stamp = read_stamp(answer.get("clientData"))
            if stamp is None or stamp.owner != owner:
                raise ScopeMiss(name)
            people.append(answer)
    return people


def scoped_desired(desired: DesiredState, scope: Mapping[str, str]) -> DesiredState:
    """The part of ``desired`` a scoped pass converges: the scoped contacts, every group."""
    contacts = [c for c in desired.contacts if c.name in scope]
    return DesiredState(contacts=contacts, groups=desired.groups, complete=True)
