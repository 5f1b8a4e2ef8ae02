"""A GitOps controller for Google Contacts.

YAML manifests in git are the desired state; the People API holds the live state. The package
diffs one against the other, plans batched changes and applies them safely. See README.md.
"""

__version__ = "0.1.0"
