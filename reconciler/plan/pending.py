"""Resolving the placeholders that contact bodies use for groups created by the same plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.plan.model import PENDING_GROUP_PREFIX


def resolve_body(body: Mapping[str, Any], created: Mapping[str, str]) -> dict[str, Any]:
    """``body`` with pending group references replaced by resource names.

    ``created`` maps group manifest names to the resource names their creation returned.
    Raises ``KeyError`` naming the group when one is missing (its creation failed: the contact
    must wait for the next pass).
    """
    memberships = body.get("memberships")
    if not memberships:
        return dict(body)
    resolved = []
    for membership in memberships:
        group = membership.get("contactGroupMembership", {})
        name = str(group.get("contactGroupResourceName", ""))
        if name.startswith(PENDING_GROUP_PREFIX):
            key = name[len(PENDING_GROUP_PREFIX) :]
            membership = {"contactGroupMembership": {"contactGroupResourceName": created[key]}}
        resolved.append(membership)
    return {**body, "memberships": resolved}
