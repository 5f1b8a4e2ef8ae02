"""Accounts chosen by the Directory: a ``directory`` entry of the accounts file, and the account
each user it selects becomes.

An entry selects users the way a Workspace admin does (an organisational unit, a users search,
a group's members) and says, once for all of them, what to reconcile: the manifests (one path
shared by everyone, or one per user through a placeholder), the owner, the drift policy,
suspension. Which users those are is asked of the Directory API (``reconciler.people.directory``)
every ``refresh`` seconds; this module only turns an address into an :class:`Account`.

Placeholders in a manifests path: ``{email}`` (the user's primary address), ``{user}`` (its part
before the ``@``) and ``{domain}`` (after it), all lowercase; ``{{`` and ``}}`` are braces.
A value that could leave its folder (``/``, ``\\``, ``.`` or ``..``) is refused, so a strange
address cannot point an account at another user's manifests.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from reconciler.controller.accounts import Account
from reconciler.plan.options import DriftPolicy

__all__ = ["PLACEHOLDERS", "Criteria", "DirectorySelection", "template_problem"]

PLACEHOLDERS = ("email", "user", "domain")


class Criteria(TypedDict):
    """Whom a selection names, as ``reconciler.people.directory.DirectoryClient.select``
    takes it."""

    customer: str | None
    domain: str | None
    org_unit_path: str | None
    query: str | None
    group: str | None
    nested: bool


def template_problem(template: str) -> str | None:
    """What is wrong with a manifests path's placeholders, or None."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as error:
        return f"{error}; write {{{{ and }}}} for a literal brace"
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = (
                "{"
                + name
                + ("!" + conversion if conversion else "")
                + (":" + spec if spec else "")
                + "}"
            )
            return f"unknown placeholder {shown}: use {{email}}, {{user}} or {{domain}}"
    return None


def _safe(value: str) -> bool:
    return bool(value) and value not in (".", "..") and not set(value) & {"/", "\\", "\0"}


@dataclass(frozen=True, slots=True)
class DirectorySelection:
    """One ``directory`` entry, every default resolved."""

    name: str  # in status, metrics and logs
    admin: str  # the admin the Directory is asked as (the delegation subject)
    manifests: tuple[str, ...]  # templates, relative to ``base``
    base: Path
    owner: str
    suspend: bool
    drift_policy: DriftPolicy
    refresh: float  # seconds between two askings
    customer: str | None = None
    domain: str | None = None
    org_unit_path: str | None = None
    query: str | None = None
    group: str | None = None
    nested: bool = False

    def criteria(self) -> Criteria:
        """What to ask the Directory, as ``DirectoryClient.select`` takes it."""
        return {
            "customer": self.customer,
            "domain": self.domain,
            "org_unit_path": self.org_unit_path,
            "query": self.query,
            "group": self.group,
            "nested": self.nested,
        }

    def describe(self) -> str:
        """The selection in a few words, for the status and logs."""
        parts = [f"domain {self.domain}" if self.domain else f"customer {self.customer}"]
        if self.org_unit_path:
            parts.append(f"orgUnitPath {self.org_unit_path}")
        if self.query:
            parts.append(f"query {self.query!r}")
        if self.group:
            parts.append(f"members of {self.group}" + (" and its groups" if self.nested else ""))
        return ", ".join(parts)

    def account(self, email: str) -> Account | None:
        """The account of the user ``email``; None when the address cannot fill the manifests
        path safely."""
        user, _, domain = email.lower().partition("@")
        values = {"email": email.lower(), "user": user, "domain": domain}
        if not all(_safe(v) for v in values.values()):
            return None
        paths = tuple(self.base / template.format(**values) for template in self.manifests)
        return Account(
            subject=email.lower(),
            manifests=paths,
            owner=self.owner,
            suspend=self.suspend,
            drift_policy=self.drift_policy,
        )
