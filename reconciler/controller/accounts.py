"""Which address books one controller keeps converged, read from an accounts file.

A Workspace admin runs one controller for many mailboxes; each is reconciled on its own (one
writer per account is Google's rule), from its own manifests, under its own owner stamp. The file
is small and edited by hand, so a mistake is reported with the file, line and column of the
offending value and what to write instead, before anything starts::

    accounts:
      - subject: alice@example.com
        manifests: /manifests/alice      # a path or a list of paths, relative to this file
        owner: repo-x                    # defaults to --owner
        suspend: false                   # true: leave this account alone
        driftPolicy: correct             # correct | report | ignore; defaults to --drift-policy
        alias: sales-team                # the account's name in metrics and probes
    directory:                           # and every user the Directory API selects
      - name: sales                      # in status, metrics and logs
        admin: admin@example.com         # the Directory is asked as this admin
        orgUnitPath: /Sales              # and/or query: ..., group: ..., nestedGroups: true
        manifests: /manifests/{user}     # {email}, {user}, {domain}; or one shared path
        refreshInterval: 10m             # owner, suspend, driftPolicy as above
    suspend: false                       # true: the whole controller writes nothing
    notify:                              # Apprise URLs; ${NAME} comes from the environment
      - slack://${SLACK_TOKENS}/#contacts

Notification URLs usually hold a token, and this file is usually a ConfigMap: so a URL names its
secrets as ``${NAME}``, filled from the environment (itself filled from a Secret) when the file
is read; a name that is not set is an error located in the file.

A ``directory`` entry stands for the users it selects (see :mod:`reconciler.controller.selection`);
an ``accounts`` entry naming the same mailbox wins over it, and the first entry over a later one.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.clock import parse_duration
from reconciler.controller.labels import account_label
from reconciler.plan.options import DriftPolicy

if TYPE_CHECKING:
    from reconciler.controller.selection import DirectorySelection

__all__ = [
    "Account",
    "AccountsConfig",
    "AccountsError",
    "DriftPolicy",
    "Problem",
    "load_accounts",
    "single_account",
]


@dataclass(frozen=True, slots=True)
class Account:
    """One address book to reconcile, with every default resolved."""

    subject: str | None  # the mailbox (domain-wide delegation subject); None: the token's user
    manifests: tuple[Path, ...]
    owner: str
    suspend: bool
    drift_policy: DriftPolicy
    alias: str | None = None

    @property
    def key(self) -> str:
        """The account's name in logs and sharding."""
        return self.subject or "default"

    @property
    def label(self) -> str:
        """The account's name in metrics, probes and ``/status``, which must not carry personal
        data: see :func:`reconciler.controller.labels.account_label`."""
        return account_label(self)


@dataclass(frozen=True, slots=True)
class AccountsConfig:
    """Every account, plus the controller-wide suspend switch."""

    accounts: tuple[Account, ...]
    suspend: bool = False
    notify: tuple[str, ...] = ()  # Apprise URLs, their ${NAME}s filled in
    directory: tuple[DirectorySelection, ...] = ()  # users the Directory selects


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in the accounts file, located."""

    path: str
    line: int
    col: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.path}:{self.line}:{self.col}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class AccountsError(Exception):
    """The accounts file cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


_NAME = r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$"
_EMAIL = r"^[^@\s]+@[^@\s]+$"


class _AccountEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=3, pattern=_EMAIL)
    manifests: list[str] = Field(min_length=1)
    owner: str | None = Field(default=None, min_length=1)
    suspend: bool = False
    drift_policy: DriftPolicy | None = Field(default=None, alias="driftPolicy")
    alias: str | None = Field(default=None, pattern=_NAME)

    @field_validator("manifests", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


DEFAULT_REFRESH = 600.0
"""Seconds between two askings of the Directory, unless an entry says otherwise."""


class _DirectoryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(default=None, pattern=_NAME)
    admin: str = Field(pattern=_EMAIL)
    customer: str | None = Field(default=None, min_length=1)
    domain: str | None = Field(default=None, min_length=1)
    org_unit_path: str | None = Field(default=None, alias="orgUnitPath", pattern=r"^/")
    query: str | None = Field(default=None, min_length=1)
    group: str | None = Field(default=None, min_length=1)
    nested_groups: bool = Field(default=False, alias="nestedGroups")
    manifests: list[str] = Field(min_length=1)
    owner: str | None = Field(default=None, min_length=1)
    suspend: bool = False
    drift_policy: DriftPolicy | None = Field(default=None, alias="driftPolicy")
    refresh_interval: str | float = Field(default=DEFAULT_REFRESH, alias="refreshInterval")

    @field_validator("manifests", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class _AccountsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[_AccountEntry] = Field(default_factory=list)
    directory: list[_DirectoryEntry] = Field(default_factory=list)
    suspend: bool = False
    notify: list[str] = Field(default_factory=list)


_HINTS = {
    "extra_forbidden": (
        "allowed keys are subject, manifests, owner, suspend, driftPolicy and alias; in a "
        "directory entry name, admin, customer or domain, orgUnitPath, query, group, "
        "nestedGroups, manifests, owner, suspend, driftPolicy and refreshInterval (at the top: "
        "accounts, directory, suspend and notify)"
    ),
    "enum": "use one of correct, report, ignore",
    "string_pattern_mismatch": "the subject is the mailbox to act as, like alice@example.com",
    "missing": "every account needs a subject and manifests",
    "too_short": "list at least one entry",
}


def load_accounts(
    path: Path | str,
    *,
    default_owner: str,
    drift_policy: DriftPolicy,
    environ: Mapping[str, str] | None = None,
) -> AccountsConfig:
    """Read and validate the accounts file at ``path``; relative manifest paths are taken from
    the file's folder, ``${NAME}`` in notification URLs from ``environ`` (the process's by
    default). Raises :class:`AccountsError` with every problem located."""
    environ = os.environ if environ is None else environ
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AccountsError(
            [Problem(str(path), 1, 1, f"cannot read the accounts file: {exc.strerror}")]
        ) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise AccountsError(
            [Problem(str(path), line, col, f"not valid YAML: {exc.problem or exc}")]
        ) from exc
    try:
        parsed = _AccountsFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise AccountsError([_locate(str(path), root, error) for error in exc.errors()]) from None
    problems: list[Problem] = []

    def twice(index: int, key: str, message: str, hint: str) -> None:
        line, col = _position(_node_at(root, ("accounts", index, key)))
        problems.append(Problem(str(path), line, col, message, hint))

    if not parsed.accounts and not parsed.directory:
        line, col = _position(root)
        hint = "list accounts (subject and manifests) or directory entries, or both"
        problems.append(Problem(str(path), line, col, "no accounts and no directory entry", hint))
    subjects: set[str] = set()
    aliases: set[str] = set()
    for index, entry in enumerate(parsed.accounts):
        subject = entry.subject.strip().casefold()
        if subject in subjects:
            hint = "one account has one writer: merge the two entries"
            twice(index, "subject", f"subject {entry.subject!r} is listed twice", hint)
        subjects.add(subject)
        if entry.alias is not None and entry.alias in aliases:
            hint = "each account needs its own alias: metrics tell accounts apart by it"
            twice(index, "alias", f"alias {entry.alias!r} is used twice", hint)
        aliases.add(entry.alias or "")
    notify: list[str] = []
    for index, url in enumerate(parsed.notify):
        try:
            notify.append(string.Template(url).substitute(environ))
        except (KeyError, ValueError) as missing:
            line, col = _position(_node_at(root, ("notify", index)))
            problems.append(
                Problem(
                    str(path),
                    line,
                    col,
                    f"notify[{index}]: the environment variable {missing} is not set"
                    if isinstance(missing, KeyError)
                    else f"notify[{index}]: a '$' that names no variable (write $$ for '$')",
                    "set it in the controller's environment, for example from a Secret",
                )
            )
    selections = _selections(
        str(path), root, parsed.directory, problems, default_owner, drift_policy, path.parent
    )
    if problems:
        raise AccountsError(problems)
    base = path.parent
    accounts = tuple(
        Account(
            subject=entry.subject,
            manifests=tuple(base / m for m in entry.manifests),
            owner=entry.owner or default_owner,
            suspend=entry.suspend,
            drift_policy=entry.drift_policy or drift_policy,
            alias=entry.alias,
        )
        for entry in parsed.accounts
    )
    return AccountsConfig(
        accounts=accounts,
        suspend=parsed.suspend,
        notify=tuple(notify),
        directory=tuple(selections),
    )


def _selections(
    path: str,
    root: yaml.Node | None,
    entries: Sequence[_DirectoryEntry],
    problems: list[Problem],
    default_owner: str,
    drift_policy: DriftPolicy,
    base: Path,
) -> list[DirectorySelection]:
    """The directory entries, checked beyond what their model says; problems are located."""
    from reconciler.controller.selection import DirectorySelection, template_problem

    def problem(index: int, key: str, message: str, hint: str) -> None:
        line, col = _position(_node_at(root, ("directory", index, key)))
        problems.append(Problem(path, line, col, f"directory.{index}.{key}: {message}", hint))

    selections: list[DirectorySelection] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.name or f"directory-{index}"
        if name in names:
            problem(index, "name", f"name {name!r} is used twice", "give each entry its own name")
        names.add(name)
        if entry.customer and entry.domain:
            hint = "customer (my_customer, the default) lists every domain; domain only one"
            problem(index, "domain", "give customer or domain, not both", hint)
        if not (entry.org_unit_path or entry.query or entry.group):
            hint = "select by orgUnitPath, query or group; orgUnitPath: / selects every user"
            problem(index, "admin", "the entry selects no users", hint)
        for number, template in enumerate(entry.manifests):
            why = template_problem(template)
            if why is not None:
                line, col = _position(_node_at(root, ("directory", index, "manifests", number)))
                if len(entry.manifests) == 1:
                    line, col = _position(_node_at(root, ("directory", index, "manifests")))
                message = f"directory.{index}.manifests: {why}"
                hint = "for example /manifests/users/{user}; {{ and }} are literal braces"
                problems.append(Problem(path, line, col, message, hint))
        refresh = parse_duration(entry.refresh_interval)
        if refresh is None or refresh <= 0:
            hint = "a duration like 30s, 10m or 1h"
            problem(index, "refreshInterval", f"not a duration: {entry.refresh_interval!r}", hint)
            refresh = DEFAULT_REFRESH
        selections.append(
            DirectorySelection(
                name=name,
                admin=entry.admin,
                manifests=tuple(entry.manifests),
                base=base,
                owner=entry.owner or default_owner,
                suspend=entry.suspend,
                drift_policy=entry.drift_policy or drift_policy,
                refresh=refresh,
                customer=None if entry.domain else (entry.customer or "my_customer"),
                domain=entry.domain,
                org_unit_path=entry.org_unit_path,
                query=entry.query,
                group=entry.group,
                nested=entry.nested_groups,
            )
        )
    return selections


def single_account(
    manifests: Sequence[Path | str],
    *,
    owner: str,
    drift_policy: DriftPolicy,
    subject: str | None = None,
) -> AccountsConfig:
    """The account of a controller started without a file: ``subject`` (else the token's user)
    and ``manifests``."""
    from reconciler.manifest import DEFAULT_PATH

    paths = tuple(Path(m) for m in manifests) or (Path(DEFAULT_PATH),)
    return AccountsConfig(
        accounts=(Account(subject, paths, owner, suspend=False, drift_policy=drift_policy),)
    )


def _locate(path: str, root: yaml.Node | None, error: Any) -> Problem:
    location = tuple(error["loc"])
    node = _node_at(root, location, point_at_key=error["type"] == "extra_forbidden")
    line, col = _position(node)
    where = ".".join(str(part) for part in location) or "the file"
    hint = _HINTS.get(error["type"], "")
    if location[-1:] in (("alias",), ("name",)):
        what = "an alias" if location[-1] == "alias" else "a name"
        hint = f"{what} is lowercase letters, digits, '-', '_' and '.', like sales-team"
    elif location[:1] == ("directory",) and location[-1:] == ("orgUnitPath",):
        hint = "an organisational unit is named by its full path, which starts with /: /Sales"
    elif location[:1] == ("directory",) and error["type"] in ("missing", "string_pattern_mismatch"):
        hint = (
            "a directory entry needs admin (the address of an admin to ask the Directory as) "
            "and manifests"
        )
    return Problem(path, line, col, f"{where}: {error['msg']}", hint)


def _node_at(
    root: yaml.Node | None, location: Sequence[Any], *, point_at_key: bool = False
) -> yaml.Node | None:
    """The YAML node at a pydantic error location, or the deepest one that exists.

    With ``point_at_key`` the last step lands on the key rather than its value (an unknown key is
    best shown where it is written).
    """
    node = root
    for depth, part in enumerate(location):
        last = depth == len(location) - 1
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                return node
            node = pair[0] if last and point_at_key else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def _position(node: yaml.Node | None) -> tuple[int, int]:
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1
