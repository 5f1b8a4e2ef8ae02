"""Manifests: the desired state, as people write it in git.

``load(paths)`` reads a tree of YAML manifests (``Contact`` and ``ContactGroup`` documents),
validates every one of them and returns the resources together with every error found, each
located at ``path:line:col`` with a hint. The rest of the system only ever sees validated
resources: ``ContactResource.spec.person_fields()`` is People API JSON, ready to diff.
"""

from __future__ import annotations

from reconciler.manifest.errors import Location, ManifestError
from reconciler.manifest.ignore import IGNORE_FILE
from reconciler.manifest.loader import DEFAULT_PATH, LoadResult, fingerprint_of, load
from reconciler.manifest.resources import (
    API_VERSION,
    ContactResource,
    ContactSpec,
    GroupResource,
    GroupSpec,
)
from reconciler.manifest.tree import signature
from reconciler.model.inputs import ADOPT_ANNOTATION, PRUNE_ANNOTATION

__all__ = [
    "ADOPT_ANNOTATION",
    "API_VERSION",
    "DEFAULT_PATH",
    "IGNORE_FILE",
    "PRUNE_ANNOTATION",
    "ContactResource",
    "ContactSpec",
    "GroupResource",
    "GroupSpec",
    "LoadResult",
    "Location",
    "ManifestError",
    "fingerprint_of",
    "load",
    "signature",
]
