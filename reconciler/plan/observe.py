"""Observe-only contacts (Crossplane's Observe policy): tracked and compared, never written.

A manifest annotated ``reconciler/management-policy: observe`` is matched to its live contact
like any other (by stamp, or by email without any adoption write) and diffed; what differs is
drift, reported as a no-op plan item that names the fields, and nothing is ever sent for it:
no create when it is missing, no update when it differs, and never a delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.diff import FieldChange
from reconciler.model.inputs import ContactLike
from reconciler.plan.model import Action, Kind, PlanItem

POLICY_ANNOTATION = "reconciler/management-policy"
OBSERVE = "observe"

Person = Mapping[str, Any]


def observe_only(resource: ContactLike) -> bool:
    """Whether the manifest asks for ``reconciler/management-policy: observe``."""
    policy = str((resource.annotations or {}).get(POLICY_ANNOTATION, "")).strip().lower()
    return policy == OBSERVE


def drift_item(
    key: str, current: Person | None, changes: tuple[FieldChange, ...]
) -> list[PlanItem]:
    """The drift of an observe-only contact as a no-op item, or nothing when it has none."""
    if current is None:
        return [
            PlanItem(
                kind=Kind.CONTACT,
                action=Action.NOOP,
                key=key,
                reason="observe-only: no live contact carries its stamp or shares its email; "
                "nothing is created",
            )
        ]
    drift = tuple(change for change in changes if change.field != "clientData")
    if not drift:
        return []
    return [
        PlanItem(
            kind=Kind.CONTACT,
            action=Action.NOOP,
            key=key,
            reason="observe-only: live differs from the manifest in "
            f"{', '.join(change.field for change in drift)}; nothing is written",
            resource_name=str(current.get("resourceName")),
            etag=str(current.get("etag")) if current.get("etag") is not None else None,
            changes=drift,
        )
    ]
