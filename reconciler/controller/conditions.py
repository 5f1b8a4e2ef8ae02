"""Kubernetes-style conditions: a type, a tri-state status, a reason, a message and a time.

Operators already read ``kubectl get -o yaml`` and Flux's ``flux get``: ``Ready``, ``Synced``,
``Drifted`` and ``Stalled`` with a CamelCase reason and a sentence say at a glance what is wrong
and since when. The time moves only when the status flips (as apimachinery's
``meta.SetStatusCondition`` does), so "since when" stays true while the message is refreshed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from weakref import WeakValueDictionary

__all__ = ["Condition", "ConditionType", "Conditions", "Status", "iso", "short_revision"]


class ConditionType(StrEnum):
    READY = "Ready"  # the account is being reconciled: manifests valid, last pass did not fail
    SYNCED = "Synced"  # the live address book matches the manifests
    DRIFTED = "Drifted"  # someone changed managed contacts outside the manifests
    STALLED = "Stalled"  # progress needs a person: broken manifests, withheld deletes, conflicts


class Status(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, like Kubernetes timestamps (to the second)."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return utc.replace(microsecond=0, tzinfo=None).isoformat() + "Z"  # strftime is 10x slower


def short_revision(revision: str | None) -> str:
    """A revision as tables show it: 12 hex digits of a commit or of a ``sha256:`` digest."""
    if not revision:
        return "-"
    kind, sep, digest = revision.rpartition(":")
    return f"{kind}{sep}{digest[:12]}"


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Condition:
    type: ConditionType
    status: Status
    reason: str
    message: str
    last_transition_time: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "type": str(self.type),
            "status": str(self.status),
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": iso(self.last_transition_time),
        }


class Conditions:
    """The four conditions of one object, all ``Unknown`` until told otherwise.

    A domain's status holds four conditions for each of hundreds of thousands of contacts,
    and most of them say the same thing (``Ready``/``Reconciled`` since the same pass). So
    equal conditions are one shared object (:func:`_shared`), transition times are kept to
    the second (as ``/status`` shows them), and the four sit in a tuple shared by every
    object in the same state (:func:`_shared_four`): ~50 bytes a contact instead of ~700.
    """

    __slots__ = ("_all", "_now")

    def __init__(self, now: Callable[[], datetime], reason: str = "NotYetReconciled") -> None:
        self._now = now
        at = _second(now())
        first = _FIRSTS.get((reason, at))
        if first is None:
            first = _shared_four(
                tuple(
                    _shared(Condition(t, Status.UNKNOWN, reason, "not reconciled yet", at))
                    for t in ConditionType
                )
            )
            _keep(_FIRSTS, (reason, at), first)
        self._all = first

    def set(self, type: ConditionType, status: Status, reason: str, message: str) -> bool:
        """Set one condition; return True when its status flipped (a transition).

        Contacts in the same state share their four (``_shared_four``), and a pass moves them
        all the same way: each step from a shared four is worked out once (``_STEPS``), not
        once per contact, on the event loop, after every pass."""
        index = _ORDER[type]
        four = self._all
        old = four[index]
        flipped = old.status != status
        if not flipped and (old.reason, old.message) == (reason, message):
            return False
        at = _second(self._now()) if flipped else old.last_transition_time
        step = (id(four), index, status, reason, message, at)
        known = _STEPS.get(step)
        if known is not None and known[0] is four:
            self._all = known[1]
            return flipped
        new = (
            Condition(type, status, reason, message, at)
            if flipped
            else replace(old, reason=reason, message=message)
        )
        self._all = _shared_four((*four[:index], _shared(new), *four[index + 1 :]))
        _keep(_STEPS, step, (four, self._all))  # ``four`` kept alive: its id stays its own
        return flipped

    def __getitem__(self, type: ConditionType) -> Condition:
        return self._all[_ORDER[type]]

    def is_true(self, type: ConditionType) -> bool:
        return self[type].status is Status.TRUE

    def __iter__(self) -> Iterator[Condition]:
        return iter(self._all)

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self]


_ORDER = {t: i for i, t in enumerate(ConditionType)}
_SHARED: WeakValueDictionary[Condition, Condition] = WeakValueDictionary()
_FOURS: dict[tuple[Condition, ...], tuple[Condition, ...]] = {}
_FOURS_KEPT = 4096
_FIRSTS: dict[tuple[str, datetime], tuple[Condition, ...]] = {}
_STEPS: dict[tuple[Any, ...], tuple[tuple[Condition, ...], tuple[Condition, ...]]] = {}


def _keep(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Remember ``value``; the cache starts over when full (it only saves work)."""
    if len(cache) >= _FOURS_KEPT:
        cache.clear()
    cache[key] = value


def _shared(condition: Condition) -> Condition:
    """The one live object equal to ``condition`` (conditions are immutable values)."""
    return _SHARED.setdefault(condition, condition)


def _shared_four(conditions: tuple[Condition, ...]) -> tuple[Condition, ...]:
    """One tuple for each set of four seen lately: contacts converged by the same pass share
    it. The cache only saves copies (holders keep their own tuple), so it starts over when
    full."""
    if len(_FOURS) >= _FOURS_KEPT:
        _FOURS.clear()
    return _FOURS.setdefault(conditions, conditions)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
