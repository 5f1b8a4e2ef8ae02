"""Saved plans: a plan written to a file by ``plan --out`` and applied later, exactly.

The file is JSON with a ``format`` marker and a ``format_version``. It holds every item with its
update mask and whole body (so nothing is recomputed at apply time), the waves and batches as
indices into the items, and the etag of every live contact the plan saw (the apply engine refuses
items whose etag changed since). Loading validates the whole document and reports the first
problem with its location in the document. (De)serialisation is pure: callers read and write the
file.

A saved plan is bound to where it was made (:class:`Binding`: the target, the address book's
user and the owner): etags alone do not catch a plan applied to another address book, where
its creates would land as brand-new contacts. :func:`check_binding` refuses such an apply
before anything is read or written. Version 1 files carried no binding and are refused.

It also names the manifests it was made from (the paths as given to ``plan``) and their
content's fingerprint, so that ``apply PLANFILE`` can tell that someone changed them
since the review (:func:`check_manifests`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler.diff import FieldChange
from reconciler.plan.errors import SavedPlanError, SavedPlanMismatch
from reconciler.plan.model import (
    Action,
    Batch,
    Kept,
    Kind,
    Method,
    Plan,
    PlanItem,
    Wave,
    WaveName,
)

FORMAT = "reconciler-plan"
SAVED_FORMAT_VERSION = 2


@dataclass(frozen=True)
class Binding:
    """Where a plan was made, and so the only place it may be applied.

    ``target`` is the endpoint (``embedded:<state file>``, the emulator's URL or ``google``),
    ``account`` the resource name of the address book's user as the API reports it (never a
    credential), ``owner`` the stamp owner. ``revision`` is the manifests revision (stored
    once in the file, as the plan's own); it is compared only when both sides know it.
    """

    target: str
    account: str
    owner: str
    revision: str | None = None


@dataclass(frozen=True)
class Manifests:
    """The manifests a plan was made from: the paths as given to ``plan`` (relative to where it
    ran) and the fingerprint of their content (``sha256:``, the same in any checkout)."""

    paths: tuple[str, ...]
    fingerprint: str


@dataclass(frozen=True)
class SavedPlan:
    """A plan read back from a file, with the binding it was saved under."""

    plan: Plan
    binding: Binding
    manifests: Manifests | None = None  # None in files saved before plans named them


def check_binding(saved: Binding, here: Binding, *, source: str = "<plan>") -> None:
    """Raise :class:`SavedPlanMismatch` naming every way ``here`` differs from ``saved``."""
    differences = [
        f"{what} is {now!r}, the plan was made for {then!r}"
        for what, then, now in (
            ("the target", saved.target, here.target),
            ("the address book", saved.account, here.account),
            ("the owner", saved.owner, here.owner),
        )
        if then != now
    ]
    if saved.revision and here.revision and saved.revision != here.revision:
        differences.append(
            f"the manifests revision is {here.revision!r}, the plan was made at {saved.revision!r}"
        )
    if differences:
        raise SavedPlanMismatch(
            f"{source}: refusing to apply a plan made elsewhere: {'; '.join(differences)}. "
            "Nothing was written; plan again against this target, or apply with the target, "
            "credentials and --owner the plan was made with"
        )


def check_manifests(saved: SavedPlan, now: str | None, *, source: str = "<plan>") -> None:
    """Raise :class:`SavedPlanMismatch` when the manifests ``saved`` was made from have
    changed since: ``now`` is their fingerprint as they are here (None: not found)."""
    if saved.manifests is None:
        return
    paths = ", ".join(saved.manifests.paths)
    if now is None:
        raise SavedPlanMismatch(
            f"{source}: refusing to apply: the manifests the plan was made from ({paths}) are "
            "not found from here. Nothing was written; apply from the folder the plan was made "
            "in, or with --ignore-manifest-changes to write the plan as it was reviewed"
        )
    if now != saved.manifests.fingerprint:
        made_at = f" at revision {saved.plan.revision}" if saved.plan.revision else ""
        raise SavedPlanMismatch(
            f"{source}: refusing to apply: the manifests changed since the plan was made{made_at} "
            f"({paths}: {saved.manifests.fingerprint} then, {now} now). Nothing was written; "
            "plan again to review the change, or apply with --ignore-manifest-changes to write "
            "the plan as it was reviewed"
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Change(_Strict):
    field: str
    before: Any = None
    after: Any = None


class _Item(_Strict):
    kind: Kind
    action: Action
    key: str
    reason: str
    resource_name: str | None = None
    etag: str | None = None
    changes: list[_Change] = []
    update_mask: list[str] = []
    body: dict[str, Any] = {}
    pending_groups: list[str] = []
    previous_key: str | None = None
    unmanaged: list[str] = []
    drift: list[str] = []
    orphan: bool = False
    kept: Kept | None = None


class _Batch(_Strict):
    method: Method
    update_mask: list[str] = []
    items: list[int]


class _Wave(_Strict):
    name: WaveName
    batches: list[_Batch]


class _Binding(_Strict):
    target: str
    account: str
    owner: str


class _Manifests(_Strict):
    paths: list[str]
    fingerprint: str


class _Document(_Strict):
    format: Literal["reconciler-plan"]
    format_version: int
    binding: _Binding
    owner: str
    prune: bool = False
    unchanged: int = 0
    warnings: list[str] = []
    group_labels: dict[str, str] = {}
    etags: dict[str, str] = {}
    revision: str | None = None
    manifests: _Manifests | None = None
    items: list[_Item]
    waves: list[_Wave]


def _item_doc(item: PlanItem) -> dict[str, Any]:
    return {
        "kind": item.kind.value,
        "action": item.action.value,
        "key": item.key,
        "reason": item.reason,
        "resource_name": item.resource_name,
        "etag": item.etag,
        "changes": [{"field": c.field, "before": c.before, "after": c.after} for c in item.changes],
        "update_mask": list(item.update_mask),
        "body": dict(item.body),
        "pending_groups": list(item.pending_groups),
        "previous_key": item.previous_key,
        "unmanaged": list(item.unmanaged),
        "drift": list(item.drift),
        "orphan": item.orphan,
        "kept": item.kept.value if item.kept is not None else None,
    }


def dumps_plan(plan: Plan, binding: Binding, *, manifests: Manifests | None = None) -> str:
    """The plan as a JSON document that :func:`loads_plan` turns back into an equal plan,
    bound to ``binding`` (whose owner and revision must be the plan's), naming the
    ``manifests`` paths it was planned from."""
    if plan.drift_only:
        raise ValueError("a drift-only plan is for reading: it cannot be saved or applied")
    if binding.owner != plan.owner or binding.revision not in (None, plan.revision):
        raise ValueError(f"binding {binding!r} does not match the plan's owner and revision")
    index = {id(item): n for n, item in enumerate(plan.items)}
    document = {
        "format": FORMAT,
        "format_version": SAVED_FORMAT_VERSION,
        "binding": {
            "target": binding.target,
            "account": binding.account,
            "owner": binding.owner,
        },
        "owner": plan.owner,
        "prune": plan.prune,
        "unchanged": plan.unchanged,
        "warnings": list(plan.warnings),
        "group_labels": dict(plan.group_labels),
        "etags": dict(plan.etags),
        "revision": plan.revision,
        "manifests": None
        if manifests is None
        else {"paths": list(manifests.paths), "fingerprint": manifests.fingerprint},
        "items": [_item_doc(item) for item in plan.items],
        "waves": [
            {
                "name": wave.name.value,
                "batches": [
                    {
                        "method": batch.method.value,
                        "update_mask": list(batch.update_mask),
                        "items": [index[id(item)] for item in batch.items],
                    }
                    for batch in wave.batches
                ],
            }
            for wave in plan.waves
        ],
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(document)"
    return f"{where}: {first['msg']}"


def loads_plan(text: str | bytes, *, source: str = "<plan>") -> SavedPlan:
    """A plan and its binding from :func:`dumps_plan` output; :class:`SavedPlanError` names
    what is wrong."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SavedPlanError(
            f"{source}: not a saved plan (invalid JSON: {exc}); make a new one with plan --out"
        ) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise SavedPlanError(
            f'{source}: not a saved plan (no "format": "{FORMAT}" marker); '
            "make a new one with plan --out"
        )
    version = raw.get("format_version")
    if version != SAVED_FORMAT_VERSION:
        raise SavedPlanError(
            f"{source}: saved plan format_version {version!r} is not supported (this version "
            f"reads {SAVED_FORMAT_VERSION}); make a new plan with this version"
        )
    try:
        document = _Document.model_validate(raw)
    except ValidationError as exc:
        raise SavedPlanError(
            f"{source}: corrupt saved plan at {_first_error(exc)}; make a new one with plan --out"
        ) from None
    items = tuple(
        PlanItem(
            kind=i.kind,
            action=i.action,
            key=i.key,
            reason=i.reason,
            resource_name=i.resource_name,
            etag=i.etag,
            changes=tuple(FieldChange(c.field, c.before, c.after) for c in i.changes),
            update_mask=tuple(i.update_mask),
            body=i.body,
            pending_groups=tuple(i.pending_groups),
            previous_key=i.previous_key,
            unmanaged=tuple(i.unmanaged),
            drift=tuple(i.drift),
            orphan=i.orphan,
            kept=i.kept,
        )
        for i in document.items
    )
    used: list[int] = []
    waves = []
    for wave in document.waves:
        batches = []
        for batch in wave.batches:
            if any(not 0 <= n < len(items) for n in batch.items):
                raise SavedPlanError(
                    f"{source}: corrupt saved plan: wave {wave.name.value!r} refers to an item "
                    "that does not exist; make a new one with plan --out"
                )
            used += batch.items
            batches.append(
                Batch(batch.method, tuple(items[n] for n in batch.items), tuple(batch.update_mask))
            )
        waves.append(Wave(wave.name, tuple(batches)))
    writes = [n for n, item in enumerate(items) if item.action is not Action.NOOP]
    if sorted(used) != writes:
        raise SavedPlanError(
            f"{source}: corrupt saved plan: its waves do not schedule every change exactly "
            "once; make a new one with plan --out"
        )
    if document.binding.owner != document.owner:
        raise SavedPlanError(
            f"{source}: corrupt saved plan: binding.owner is not the plan's owner; make a new "
            "one with plan --out"
        )
    plan = Plan(
        owner=document.owner,
        items=items,
        waves=tuple(waves),
        unchanged=document.unchanged,
        etags=document.etags,
        warnings=tuple(document.warnings),
        prune=document.prune,
        group_labels=document.group_labels,
        revision=document.revision,
    )
    b = document.binding
    m = document.manifests
    manifests = None if m is None else Manifests(tuple(m.paths), m.fingerprint)
    return SavedPlan(plan, Binding(b.target, b.account, b.owner, document.revision), manifests)
