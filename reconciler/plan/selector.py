"""Label selectors in Kubernetes' syntax: which manifests a plan, apply or export acts on.

``team=sales``, ``team==sales``, ``region!=west``, ``tier in (gold,silver)``,
``tier notin (free)``, ``vip`` (the label is set), ``!vip`` (it is not); requirements separated
by commas must all hold. As in Kubernetes, ``!=`` and ``notin`` also match objects that do not
have the label at all. An empty selector matches everything.

Pure: parsing raises :class:`SelectorError` with the column of the problem; matching reads a
mapping of labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Operator = Literal["=", "!=", "in", "notin", "exists", "!exists"]

_KEY = r"[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)?"
_TOKEN = re.compile(
    rf"""\s*(?:
        (?P<not>!)\s*(?P<nkey>{_KEY})
      | (?P<key>{_KEY})\s*(?:
            (?P<eq>==|=|!=)\s*(?P<value>{_VALUE})
          | \s(?P<set>in|notin)\s*\(\s*(?P<values>[^()]*)\)
        )?
    )\s*(?:,|$)""",
    re.VERBOSE,
)


class SelectorError(ValueError):
    """A selector that does not parse; ``column`` is 1-based."""

    def __init__(self, text: str, column: int, problem: str) -> None:
        self.text, self.column, self.problem = text, column, problem
        super().__init__(
            f"--selector {text!r}, column {column}: {problem}; write requirements like "
            "'team=sales', 'region!=west', 'tier in (a,b)', 'vip' or '!vip', separated by commas"
        )


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.key)
        if self.operator == "exists":
            return value is not None
        if self.operator == "!exists":
            return value is None
        if self.operator in ("=", "in"):
            return value is not None and value in self.values
        return value is None or value not in self.values  # "!=" and "notin"


@dataclass(frozen=True, slots=True)
class Selector:
    """Requirements that must all hold; the source text is kept for messages and saved plans."""

    text: str
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        found = labels or {}
        return all(requirement.matches(found) for requirement in self.requirements)

    def __str__(self) -> str:
        return self.text


def parse_selector(text: str) -> Selector:
    """The selector written in ``text`` (Kubernetes label-selector syntax)."""
    requirements: list[Requirement] = []
    position = 0
    if not text.strip():
        return Selector(text)
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SelectorError(text, position + 1, "cannot read a requirement here")
        if match["not"]:
            requirements.append(Requirement(match["nkey"], "!exists"))
        elif match["eq"]:
            operator: Operator = "!=" if match["eq"] == "!=" else "="
            requirements.append(Requirement(match["key"], operator, frozenset({match["value"]})))
        elif match["set"]:
            values = [v.strip() for v in match["values"].split(",")]
            if not all(re.fullmatch(_VALUE, v) for v in values) or values == [""]:
                raise SelectorError(text, match.start("values") + 1, "a bad value in the set")
            kind: Operator = "in" if match["set"] == "in" else "notin"
            requirements.append(Requirement(match["key"], kind, frozenset(values)))
        else:
            requirements.append(Requirement(match["key"], "exists"))
        position = match.end()
        if text[position - 1 : position] == "," and position == len(text):
            raise SelectorError(text, position, "a comma with no requirement after it")
    return Selector(text, tuple(requirements))
