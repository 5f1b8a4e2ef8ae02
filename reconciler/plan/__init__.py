"""Plans: what will change in an address book, in which order and in which batches.

``build_plan(desired, live, options)`` is the entry point; the renderers and the saved-plan
codec all work from the :class:`Plan` it returns. Pure: no I/O.
"""

from reconciler.diff import FieldChange
from reconciler.model.inputs import ADOPT_ANNOTATION, PRUNE_ANNOTATION
from reconciler.plan.batching import BATCH_LIMITS
from reconciler.plan.build import build_plan
from reconciler.plan.drift_only import drift_only
from reconciler.plan.errors import (
    AmbiguousAdoption,
    ContactLimitExceeded,
    DeletionCapExceeded,
    DuplicateOwnership,
    EmptyDesiredRefused,
    GroupNameTaken,
    PlanError,
    PlanRefused,
    SavedPlanError,
    SavedPlanMismatch,
    UnknownGroup,
)
from reconciler.plan.model import (
    PENDING_GROUP_PREFIX,
    Action,
    Batch,
    Kept,
    Kind,
    Method,
    Plan,
    PlanItem,
    Summary,
    Wave,
    WaveName,
)
from reconciler.plan.options import PlanOptions
from reconciler.plan.pending import resolve_body
from reconciler.plan.render_json import render_json
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from reconciler.plan.saved import (
    Binding,
    Manifests,
    SavedPlan,
    check_binding,
    check_manifests,
    dumps_plan,
    loads_plan,
)
from reconciler.plan.view import FORMAT_VERSION, plan_view

__all__ = [
    "ADOPT_ANNOTATION",
    "BATCH_LIMITS",
    "FORMAT_VERSION",
    "PENDING_GROUP_PREFIX",
    "PRUNE_ANNOTATION",
    "Action",
    "AmbiguousAdoption",
    "Batch",
    "Binding",
    "ContactLimitExceeded",
    "DeletionCapExceeded",
    "DuplicateOwnership",
    "EmptyDesiredRefused",
    "FieldChange",
    "GroupNameTaken",
    "Kept",
    "Kind",
    "Manifests",
    "Method",
    "Plan",
    "PlanError",
    "PlanItem",
    "PlanOptions",
    "PlanRefused",
    "SavedPlan",
    "SavedPlanError",
    "SavedPlanMismatch",
    "Summary",
    "UnknownGroup",
    "Wave",
    "WaveName",
    "build_plan",
    "check_binding",
    "check_manifests",
    "drift_only",
    "dumps_plan",
    "loads_plan",
    "plan_view",
    "render_json",
    "render_markdown",
    "render_text",
    "resolve_body",
]
