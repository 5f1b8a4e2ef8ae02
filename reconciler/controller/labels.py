"""How an account is named where people and dashboards see it: never its mailbox address.

Metrics, ``/status`` and the status page outlive a log line and travel further (scraped into
Prometheus, pasted into chats), and a mailbox address is personal data. So an account is shown
as ``default`` (the token's own user) or by a short, stable hash of its subject: the same in
every process, on every machine and after a restart, so a dashboard and the status page agree;
whoever knows a subject can find its label, and the label alone gives the address to nobody.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.controller.accounts import Account

__all__ = ["account_label", "subject_label"]


def subject_label(subject: str | None) -> str:
    """``None`` -> ``default``; a mailbox -> ``acct-`` and 10 hex digits of its SHA-256."""
    if not subject:
        return "default"
    digest = hashlib.sha256(subject.strip().lower().encode("utf-8")).hexdigest()
    return f"acct-{digest[:10]}"


def account_label(account: Account) -> str:
    """The label of ``account`` in metrics, ``/status`` and the status page: its configured
    ``alias``, else :func:`subject_label` of its subject."""
    return account.alias or subject_label(account.subject)
