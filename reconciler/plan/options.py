"""Knobs of a plan. Everything dangerous is off by default."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.selector import Selector


@dataclass(frozen=True)
class PlanOptions:
    """How to plan.

    - ``owner``: the owner id stamped on, and required of, everything we touch.
    - ``prune``: delete managed contacts and groups whose manifest is gone.
    - ``adopt_by_email``: adopt unstamped live contacts matching a manifest by email (the
      ``reconciler/adopt: "email"`` annotation does the same for one contact).
    - ``default_region``: region for phone numbers written without a country code.
    - ``max_deletes`` / ``max_delete_share``: refuse plans that delete more contacts than this
      count, or more than this share of the managed contacts; the share rule applies only once
      at least ``share_floor`` contacts would go (deleting 1 of 2 is not a mass deletion).
    - ``allow_mass_delete``: override both caps.
    - ``allow_empty_desired``: allow pruning everything when no contact manifest is left.
    - ``selector``: act only on contacts whose labels match: manifests by ``metadata.labels``,
      live contacts by the labels their stamp recorded. A selection never prunes outside itself,
      and contact groups are never pruned under a selector.
    """

    owner: str = "reconciler"
    prune: bool = False
    adopt_by_email: bool = False
    default_region: str = "US"
    max_deletes: int = 100
    max_delete_share: float = 0.25
    share_floor: int = 10
    allow_mass_delete: bool = False
    allow_empty_desired: bool = False
    selector: Selector | None = None

    def __post_init__(self) -> None:
        if not self.owner:
            raise ValueError('"owner" must not be empty')
        if self.max_deletes < 0:
            raise ValueError(f'"max_deletes" must be at least 0: {self.max_deletes}')
        if not 0.0 <= self.max_delete_share <= 1.0:
            raise ValueError(f'"max_delete_share" must be between 0 and 1: {self.max_delete_share}')
