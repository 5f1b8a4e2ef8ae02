"""Why a plan could not be made. Every message names the thing, the rule and what to do next.

Messages never contain contact data (names, emails, numbers): only manifest names, file
locations, resource names and counts.
"""

from __future__ import annotations


class PlanError(Exception):
    """The inputs cannot be planned as they are; the message says what to change."""


class AmbiguousAdoption(PlanError):
    """Adoption by email matched more than one live contact, or one contact for two manifests."""


class DuplicateOwnership(PlanError):
    """Two live objects carry the same owner's stamp for the same manifest name."""


class GroupNameTaken(PlanError):
    """A group to create has the display name of a live group this owner does not manage."""


class UnknownGroup(PlanError):
    """A contact lists a group that no ContactGroup manifest defines."""


class PlanRefused(PlanError):
    """The plan would be unsafe; an explicit override is needed to go on."""


class DeletionCapExceeded(PlanRefused):
    """The plan deletes more contacts than the configured count or share allows."""


class EmptyDesiredRefused(PlanRefused):
    """No manifest is left while live contacts are still managed: almost always a mistake."""


class ContactLimitExceeded(PlanError):
    """Applying the plan would leave the address book with more contacts than a user may have."""


class SavedPlanError(Exception):
    """A saved plan file is corrupt, truncated or from an incompatible version."""


class SavedPlanMismatch(SavedPlanError):
    """A saved plan is applied to another target, address book or owner than it was made for."""
