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
    suspend: false                       # true: the whole controller writes nothing
    notify:                              # Apprise URLs; ${NAME} comes from the environment
      - slack://${SLACK_TOKENS}/#contacts

Notification URLs usually hold a token, and this file is usually a ConfigMap: so a URL names its
secrets as ``${NAME}``, filled from the environment (itself filled from a Secret) when the file
is read; a name that is not set is an error located in the file.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reconciler.controller.labels import account_label
from reconciler.plan.options import DriftPolicy

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


class _AccountEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    manifests: list[str] = Field(min_length=1)
    owner: str | None = Field(default=None, min_length=1)
    suspend: bool = False
    drift_policy: DriftPolicy | None = Field(default=None, alias="driftPolicy")
    alias: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")

    @field_validator("manifests", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class _AccountsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[_AccountEntry] = Field(min_length=1)
    suspend: bool = False
    notify: list[str] = Field(default_factory=list)


_HINTS = {
    "extra_forbidden": (
        "allowed keys are subject, manifests, owner, suspend, driftPolicy and alias "
        "(at the top: accounts, suspend and notify)"
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
    return AccountsConfig(accounts=accounts, suspend=parsed.suspend, notify=tuple(notify))


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
    if location[-1:] == ("alias",):
        hint = "an alias is lowercase letters, digits, '-', '_' and '.', like sales-team"
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
