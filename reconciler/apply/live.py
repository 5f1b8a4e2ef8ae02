"""Reading live state for an apply: the listing, corrected by what we know it cannot show yet.

A listing lags new contacts. Read naively, a contact we created a second ago looks missing and
the next plan creates it again: the classic duplicate. So the listing is reconciled with the
create journal (:mod:`reconciler.apply.journal`) before anything is planned:

- a journaled resource name the listing does not show is fetched by name and added;
- a journaled create whose answer was lost is looked up by its ownership stamp in the listing;
  not found, it stays *pending* (never planned as a create) until the settle time has passed;
- entries the listing shows are dropped from the journal: the listing has caught up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.apply.executor import ItemResult
from reconciler.apply.journal import CreateJournal
from reconciler.apply.planner import in_planner
from reconciler.model import LiveState, read_stamp
from reconciler.model.inputs import Person
from reconciler.model.limits import MAX_BATCH_GET
from reconciler.people.batching import chunks
from reconciler.people.errors import NotFound, PeopleError


class LiveReader(Protocol):
    """What reading live state needs from the client (see :mod:`reconciler.apply.gateway`)."""

    async def list_people(self) -> tuple[list[Person], bool]: ...

    async def list_groups(self) -> list[Person]: ...

    async def batch_get(self, names: Sequence[str]) -> dict[str, ItemResult]: ...


@dataclass
class LiveRead:
    """Live state ready for planning, plus what the journal says about creates in flight.

    ``pending`` maps manifest names whose create may or may not have happened to the time
    (epoch seconds) after which the listing is trusted to show them. ``confirmed`` maps names
    whose lost create the listing has now shown to their resource names.
    """

    state: LiveState
    pending: dict[str, float] = field(default_factory=dict)
    confirmed: dict[str, str] = field(default_factory=dict)


def stamped_names(people: Sequence[Mapping[str, Any]], owner: str) -> dict[str, str]:
    """Manifest name -> resource name of every listed contact stamped by ``owner``."""
    names: dict[str, str] = {}
    for person in people:
        stamp = read_stamp(person.get("clientData"))
        if stamp is not None and stamp.owner == owner and person.get("resourceName"):
            names.setdefault(stamp.name, str(person["resourceName"]))
    return names


def update_time(person: Mapping[str, Any]) -> str:
    """The latest ``updateTime`` of a person's sources (RFC 3339 strings sort by time)."""
    sources = (person.get("metadata") or {}).get("sources") or []
    return max((str(s.get("updateTime") or "") for s in sources), default="")


def fresher(listed: Person, ours: Person | None) -> Person:
    """The newer of a listed contact and our own last written copy of it (by updateTime)."""
    if ours is None or not update_time(ours) or update_time(ours) <= update_time(listed):
        return listed
    return ours


def as_written(
    base: Mapping[str, Any] | None,
    sent: Mapping[str, Any],
    mask: Sequence[str] | None,
    answer: Mapping[str, Any],
) -> Person:
    """The contact as our write left it, from what we sent and the server's short answer.

    Writes ask for only ``metadata`` and ``clientData`` back
    (:data:`reconciler.apply.gateway.WRITE_ANSWER_FIELDS`; ``resourceName`` and ``etag`` always
    come): the server stores each field of the update ``mask`` as ``sent`` (a masked field left
    out is cleared) and leaves every other field as it was in ``base``, the copy the write was
    planned on. A create (``mask`` None) sends the whole contact. The server rewrites what it
    stores (``formattedType``, entry metadata...), which the planner's comparison ignores
    (:mod:`reconciler.model.normalize`), so this copy plans like the server's own.
    """
    if mask is None:
        person: Person = dict(sent)
    else:
        masked = set(mask)
        person = {k: v for k, v in (base or {}).items() if k not in masked}
        person.update((f, sent[f]) for f in mask if f in sent)
    person.update(answer)
    return person


def _fold(
    people: list[Person], written: Mapping[str, Person], owner: str
) -> tuple[list[Person], dict[str, str]]:
    """The listing with our fresher copies in it, and its stamped names (pure: in the planner
    thread, see :mod:`reconciler.apply.planner`)."""
    if written:
        people = [fresher(p, written.get(str(p.get("resourceName")))) for p in people]
    return people, stamped_names(people, owner)


async def read_live(
    reader: LiveReader,
    journal: CreateJournal,
    *,
    owner: str,
    settle: float,
    now: Callable[[], float],
    written: Mapping[str, Person] | None = None,
) -> LiveRead:
    """List people and groups, and fold the create journal into the result.

    ``written`` holds what our own earlier writes answered: where the listing returns an older
    version of such a contact (reads lag writes), our copy, and its etag, win.
    """
    # Groups first: the write lease's group listed here is older than the contacts listing,
    # so a lease taken with its etag proves that nobody wrote in between (nobody took the
    # lease); see reconciler.controller.leasing.
    groups = await reader.list_groups()
    people, complete = await reader.list_people()
    people, by_stamp = await in_planner(_fold, people, written or {}, owner)
    listed = {str(p.get("resourceName")): p for p in people}
    extra: dict[str, Person] = {}
    pending: dict[str, float] = {}
    confirmed: dict[str, str] = {}
    settled: list[str] = []

    # Creates whose answer we recorded: the listing shows them, or we fetch them by name.
    unlisted = {k: rn for k, rn in journal.resource_names().items() if rn not in listed}
    settled += [k for k in journal.resource_names() if k not in unlisted]
    entries = journal.entries
    for batch in chunks(sorted(unlisted), MAX_BATCH_GET):
        names = [unlisted[k] for k in batch]
        try:
            got = await reader.batch_get(names)
        except PeopleError:
            got = {}
        for key in batch:
            answer = got.get(unlisted[key])
            if isinstance(answer, dict):
                extra[unlisted[key]] = answer
            elif isinstance(answer, NotFound) and now() >= entries[key].at + settle:
                settled.append(key)  # it existed and is gone since: someone deleted it
            else:
                pending[key] = max(entries[key].at + settle, now())

    # Creates whose answer was lost: the stamp in the listing decides, after the settle time.
    for key, entry in journal.unresolved().items():
        if key in by_stamp:
            confirmed[key] = by_stamp[key]
            settled.append(key)
        elif now() >= entry.at + settle:
            settled.append(key)  # the listing would show it by now: it was never created
        else:
            pending[key] = entry.at + settle

    await journal.forget(settled)
    state = LiveState(people=[*people, *extra.values()], groups=groups, complete=complete)
    return LiveRead(state=state, pending=pending, confirmed=confirmed)
