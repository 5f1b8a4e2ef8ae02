"""Knobs of a plan. Everything dangerous is off by default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from reconciler.plan.selector import Selector


class DriftPolicy(StrEnum):
    """What to do with drift: a managed field changed live since we last wrote it while its
    manifest value stayed the same (the stamp's last-applied fingerprints tell which)."""

    CORRECT = "correct"  # write the manifest's version back
    REPORT = "report"  # show it (kept in the plan, logged and counted), never write it
    IGNORE = "ignore"  # neither write nor show it; a manifest change to the field still wins


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
    - ``withhold_mass_delete``: over the caps (and not overridden), keep the deletions as
      withheld no-ops and plan everything else, instead of refusing the whole plan; a
      controller converges the rest and reports what it withheld.
    - ``allow_empty_desired``: allow pruning everything when no contact manifest is left.
    - ``drift_policy``: whether changes labelled drift are written (``correct``), shown but
      not written (``report``) or neither (``ignore``); intent (a manifest change) always is.
    - ``selector``: act only on contacts whose labels match: manifests by ``metadata.labels``,
      live contacts by the labels their stamp recorded. A selection never prunes outside itself,
      and contact groups are never pruned under a selector.
    - ``flags``: how the command in use spells each of these options (field name -> flag, as
      ``{"allow_mass_delete": "--allow-mass-delete"}``), so that a refusal names only options
      that command has; the command line fills it from its own definition.
    """

    owner: str = "reconciler"
    prune: bool = False
    adopt_by_email: bool = False
    default_region: str = "US"
    max_deletes: int = 100
    max_delete_share: float = 0.25
    share_floor: int = 10
    allow_mass_delete: bool = False
    withhold_mass_delete: bool = False
    allow_empty_desired: bool = False
    drift_policy: DriftPolicy = DriftPolicy.CORRECT
    selector: Selector | None = None
    flags: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def override_hint(self, name: str, purpose: str) -> str:
        """``pass --flag to PURPOSE``, or that this command cannot, when it has no such flag."""
        flag = self.flags.get(name)
        return f"pass {flag} to {purpose}" if flag else f"this command has no option to {purpose}"

    def named(self, name: str) -> str:
        """`` (--flag)`` when the command has a flag for option ``name``, else nothing."""
        flag = self.flags.get(name)
        return f" ({flag})" if flag else ""

    def __post_init__(self) -> None:
        if not self.owner:
            raise ValueError('"owner" must not be empty')
        if self.max_deletes < 0:
            raise ValueError(f'"max_deletes" must be at least 0: {self.max_deletes}')
        if not 0.0 <= self.max_delete_share <= 1.0:
            raise ValueError(f'"max_delete_share" must be between 0 and 1: {self.max_delete_share}')
