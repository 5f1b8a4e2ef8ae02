"""Safe, located, fast YAML reading.

Manifests come from pull requests, so the reader treats every file as hostile: it decodes UTF-8
itself (locating bad bytes), refuses nesting deep enough to crash the C parser, composes with
libyaml (PyYAML's ``CParser``) so every node keeps its line and column, and builds plain Python
values from the nodes itself. Building values ourselves is what makes the reader both safe and
fast: only the core YAML tags exist (no language-specific tags, no ``!!binary``/``!!set``, no
merge keys), duplicate keys and empty values are errors rather than silent overwrites, aliases
are expanded under a node budget (no "billion laughs"), and the implicit-tag resolver is a
first-character table lookup instead of PyYAML's generic one.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import accumulate
from operator import sub
from typing import Any, Final

import yaml
from yaml._yaml import CParser
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from reconciler.manifest.errors import ManifestError

MAX_DEPTH: Final = 64
MAX_NODES_PER_DOCUMENT: Final = 100_000
# The C composer recurses once per nesting level and crashes the process somewhere past tens of
# thousands of levels; anything that could come near this bound is first measured with the
# (iterative) event parser.
_SAFE_NESTING_BOUND: Final = 2_000

STR: Final = "tag:yaml.org,2002:str"
INT: Final = "tag:yaml.org,2002:int"
FLOAT: Final = "tag:yaml.org,2002:float"
BOOL: Final = "tag:yaml.org,2002:bool"
NULL: Final = "tag:yaml.org,2002:null"
TIMESTAMP: Final = "tag:yaml.org,2002:timestamp"
SEQ: Final = "tag:yaml.org,2002:seq"
MAP: Final = "tag:yaml.org,2002:map"
MERGE: Final = "tag:yaml.org,2002:merge"

# Implicit resolvers of YAML 1.1 (PyYAML's), indexed by first character.
_IMPLICIT: Final[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
    first: list(resolvers) for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}
_BOOLS: Final = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


# Plain scalars repeat (keys above all), and resolving one runs up to a few regexps.
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_MAX: Final = 20_000


def _plain_tag(value: str) -> str:
    if not value:
        return NULL
    for tag, regexp in _IMPLICIT.get(value[0], ()):
        if regexp.match(value):
            return tag
    return STR


class _Composer(CParser):
    """libyaml's composer with a cheap resolver and no path resolvers."""

    def resolve(self, kind: type[Node], value: str, implicit: Any) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                tag = _PLAIN_TAGS.get(value)
                if tag is None:
                    tag = _plain_tag(value)
                    if len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX and len(value) <= 32:
                        _PLAIN_TAGS[value] = tag
                return tag
            return STR
        return SEQ if kind is SequenceNode else MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def decode(data: bytes, path: str) -> tuple[str | None, ManifestError | None]:
    """UTF-8 text of a manifest file (a UTF-8 byte order mark is allowed), or a located error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        line, col = line_col(before, len(before))
        return None, ManifestError(
            path,
            line,
            col,
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            "save the file as UTF-8",
        )
    return text.removeprefix("\ufeff"), None


def _nesting_bound(text: str) -> int:
    """A cheap upper bound of how deep YAML collections in ``text`` can nest.

    A block collection nested in another starts further right at least every other level, so
    with no line longer than half the bound, block nesting stays under the bound; flow nesting
    is at most the number of open brackets, or more precisely the largest rise of opening over
    closing brackets anywhere in the file. Either way, str.count and bytes.translate do the work.
    """
    if re.search(rf"[^\n]{{{_SAFE_NESTING_BOUND // 2}}}", text) is not None:
        return _SAFE_NESTING_BOUND + 1
    opens = text.count("[") + text.count("{")
    if opens <= _SAFE_NESTING_BOUND // 2:
        return opens + _SAFE_NESTING_BOUND // 2
    brackets = text.encode("utf-8").translate(None, _NOT_BRACKETS)
    running = list(accumulate(array("b", brackets.translate(_BRACKET_STEPS))))
    lowest = accumulate([0, *running], min)
    flow = max(map(sub, running, lowest), default=0)
    return flow + _SAFE_NESTING_BOUND // 2


_NOT_BRACKETS: Final = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEPS: Final = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def _too_deep(text: str, path: str) -> ManifestError | None:
    """Find nesting deeper than MAX_DEPTH with an event parser, which does not recurse.

    libyaml's scanner is fast, but newer releases of it stop on their own nesting limit (1,000
    levels) while scanning ahead, before the event for our 65th level is handed out. Its error
    then says only that some limit was passed, so the pure-Python parser, which has no limit of
    its own and is only needed for such hostile input, finds the place to report.
    """
    try:
        return _first_too_deep(yaml.parse(text, Loader=yaml.CSafeLoader), path)
    except yaml.YAMLError as exc:
        if not _is_nesting_limit(exc):
            raise
    return _first_too_deep(yaml.parse(text, Loader=yaml.SafeLoader), path)


def _first_too_deep(events: Iterator[yaml.Event], path: str) -> ManifestError | None:
    depth = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _mark_position(event.start_mark)
                problem, hint = _limit_problem(budget_spent=False)
                return ManifestError(path, line, col, problem, hint)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _is_nesting_limit(exc: yaml.YAMLError) -> bool:
    """Whether libyaml refused the text for its own nesting limit (PyYAML 6.0.4 and later)."""
    return "maximum nesting depth" in str(exc)


@dataclass
class Document:
    """One YAML document of a file: its root node and the plain value built from it."""

    node: Node
    value: Any
    errors: list[ManifestError] = field(default_factory=list)
    # Where the document starts: its '---' line when it is empty, else its root node.
    line: int = 1
    col: int = 1


def documents(text: str, path: str) -> Iterator[Document | ManifestError]:
    """The documents of a file, one at a time; a YAML syntax error ends the file."""
    if _nesting_bound(text) > _SAFE_NESTING_BOUND:
        try:
            too_deep = _too_deep(text, path)
        except yaml.YAMLError as exc:
            yield _syntax_error(exc, path, text)
            return
        if too_deep is not None:
            yield too_deep
            return
    composer: _Composer | None = None
    try:
        composer = _Composer(text)
        while composer.check_node():
            node = composer.get_node()
            if node is None:  # pragma: no cover - check_node() said there is one
                break
            builder = _Builder(path)
            value = builder.build(node, 0)
            _, line, col = where(node, path)
            if value is None and node.tag == NULL and not node.value:
                separator = text.rfind("---", 0, node.start_mark.index)
                if separator >= 0:
                    line, col = line_col(text, separator)
            yield Document(node, value, builder.errors, line, col)
    except yaml.YAMLError as exc:
        too_deep = None
        if _is_nesting_limit(exc):
            try:
                too_deep = _too_deep(text, path)
            except yaml.YAMLError:
                too_deep = None
        yield too_deep or _syntax_error(exc, path, text)
    finally:
        if composer is not None:
            composer.dispose()


def _mark_position(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _sexagesimal(parts: list[str], number: Callable[[str], Any]) -> Any:
    total = number("0")
    for part in parts:
        total = total * 60 + number(part)
    return total


def _syntax_error(exc: yaml.YAMLError, path: str, text: str) -> ManifestError:
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml counts bytes of the UTF-8 encoding, not characters.
        offset = len(text.encode("utf-8")[: exc.position].decode("utf-8", errors="ignore"))
        line, col = line_col(text, offset)
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return ManifestError(
            path,
            line,
            col,
            f"character U+{character:04X} is not allowed in YAML",
            "remove it: YAML files may not contain control characters",
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ManifestError(path, 1, 1, f"invalid YAML: {exc}", "fix the YAML syntax")
    line, col = _mark_position(exc.problem_mark or exc.context_mark)
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{problem} ({exc.context})"
    if "\t" in source_line[: len(source_line) - len(source_line.lstrip())] or "'\\t'" in problem:
        hint = "YAML indentation uses spaces, never tabs"
    elif "found undefined alias" in problem:
        hint = "define the anchor (&name) before using the alias (*name)"
    else:
        hint = "fix the YAML syntax here; check indentation, quotes and colons"
    return ManifestError(path, line, col, f"invalid YAML: {problem}", hint)


def where(node: Node, path: str) -> tuple[str, int, int]:
    mark = node.start_mark
    return path, mark.line + 1, mark.column + 1


class _Builder:
    """Plain Python values from composed nodes, collecting located errors."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[ManifestError] = []
        self.budget = MAX_NODES_PER_DOCUMENT
        self.stopped = False

    def fail(self, node: Node, message: str, hint: str) -> None:
        self.errors.append(ManifestError(*where(node, self.path), message, hint))

    def build(self, node: Node, depth: int) -> Any:
        tag = node.tag
        kind = type(node)
        if kind is ScalarNode:
            scalar = _SCALARS.get(tag)
            if scalar is not None:
                return scalar(node.value)
        elif kind is MappingNode or kind is SequenceNode:
            # Aliases make the node graph a DAG (or a cycle): count what expanding it costs.
            self.budget -= len(node.value) + 1
            if self.budget < 0 or depth >= MAX_DEPTH:
                if not self.stopped:
                    self.stopped = True
                    self.fail(node, *_limit_problem(budget_spent=self.budget < 0))
                return None
            if tag == MAP and isinstance(node, MappingNode):
                return self._mapping(node, depth + 1)
            if tag == SEQ and kind is SequenceNode:
                return [
                    item.value
                    if item.tag == STR and type(item) is ScalarNode
                    else self.build(item, depth + 1)
                    for item in node.value
                ]
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        self.fail(
            node,
            f"unsupported YAML tag {shown!r}",
            "manifests use plain YAML: remove the tag (quote the value if it must be a string)",
        )
        return None

    def _mapping(self, node: MappingNode, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode or key_node.tag != STR:
                if key_node.tag == MERGE:
                    self.fail(
                        key_node,
                        "merge keys (<<) are not supported",
                        "write the fields out in full; every manifest stands on its own",
                    )
                    continue
                if type(key_node) is not ScalarNode:
                    self.fail(key_node, "mapping keys must be plain strings", "use a plain key")
                    continue
            key = key_node.value if key_node.tag == STR else self.build(key_node, depth)
            if key in result:
                self.fail(
                    key_node,
                    f"duplicate key {key!r} in this mapping",
                    "remove one of them; YAML would silently keep only the last",
                )
                continue
            if value_node.tag == STR and type(value_node) is ScalarNode:
                result[key] = value_node.value
                continue
            value = self.build(value_node, depth)
            if value is None and value_node.tag == NULL:
                self.fail(
                    value_node if value_node.value else key_node,
                    f"{key!r} has no value",
                    "give it a value, or delete the line (use [] or {} for an empty one)",
                )
            result[key] = value
        return result


def _limit_problem(*, budget_spent: bool) -> tuple[str, str]:
    if budget_spent:
        return (
            f"document expands to more than {MAX_NODES_PER_DOCUMENT} YAML nodes",
            "aliases (*name) are expanded; do not build large structures from them",
        )
    return (
        f"nesting is deeper than {MAX_DEPTH} levels",
        "manifests are shallow; flatten this structure (or remove a recursive alias)",
    )


def _int(value: str) -> int:
    digits = value.replace("_", "")
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if ":" in digits:
        return sign * int(_sexagesimal(digits.split(":"), int))
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _float(value: str) -> float:
    digits = value.replace("_", "").lower()
    if digits.endswith(".inf"):
        return -math.inf if digits.startswith("-") else math.inf
    if digits.endswith(".nan"):
        return math.nan
    if ":" in digits:
        sign = -1.0 if digits.startswith("-") else 1.0
        parts = digits.lstrip("+-").split(":")
        return sign * float(_sexagesimal(parts, float))
    return float(digits)


def _timestamp(value: str) -> date | datetime | str:
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace(" ", "T", 1).replace("t", "T"))
    except ValueError:
        return value


_SCALARS: Final[dict[str, Callable[[str], Any]]] = {
    STR: str,
    INT: _int,
    FLOAT: _float,
    BOOL: lambda value: _BOOLS[value.lower()],
    NULL: lambda value: None,
    TIMESTAMP: _timestamp,
}
