"""The benchmarks' Contact manifest for person ``i``, shared by domain.py, idle.py and converge.py.

The scripts run as ``python bench/NAME.py``, so this folder is first on ``sys.path`` and they
import it as ``contact_yaml``. Every variant has the same name and email; the other fields are
the script's choice and always come in this order.
"""

from __future__ import annotations


def contact_doc(
    i: int, *, phone: bool = False, title: str | None = None, group: str | None = None
) -> str:
    """One YAML document: ``person-{i:05d}`` with a name and a work email, and if asked a mobile
    phone, an Acme organization with ``title`` and membership of ``group``."""
    doc = (
        "apiVersion: reconciler/v1\nkind: Contact\n"
        f"metadata: {{name: person-{i:05d}}}\n"
        "spec:\n"
        f"  names: [{{givenName: Given{i}, familyName: Family{i}}}]\n"
        f"  emailAddresses: [{{value: person{i}@example.com, type: work}}]\n"
    )
    if phone:
        doc += f"  phoneNumbers: [{{value: '+1 650 555 {i % 10000:04d}', type: mobile}}]\n"
    if title is not None:
        doc += f"  organizations: [{{name: Acme, title: {title}}}]\n"
    if group is not None:
        doc += f"  groups: [{group}]\n"
    return doc
