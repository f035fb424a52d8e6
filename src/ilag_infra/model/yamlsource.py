"""Read YAML into plain data while remembering the line of every key, for error messages.

The loader is bounded before any object is built: file size, nesting depth, alias count and
alias expansion are checked on the raw text and on the parser's event stream, so a broken or
hostile file is refused in milliseconds with little memory (a seven-line alias bomb expands
to a billion nodes otherwise). Explicit tags are refused: these files never need them, and a
tag with a bad value (`!!float abc`) would otherwise fail deep inside the YAML library.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
    ScalarEvent,
)

from ilag_infra.model.errors import Problem

KeyPath = tuple[str | int, ...]

# Generous for hand-written config (region.yaml is ~10 KB, depth 7, no aliases), tiny for an
# attack; a refusal names the limit and the line.
MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_ALIASES = 200
MAX_NODES = 100_000  # scalars and collections after every alias is expanded
# Tags Ansible's inventories may carry (vault-encrypted and unsafe values), plus the ones
# that only restate what YAML infers anyway.
ALLOWED_TAGS = {
    "!",
    "!vault",
    "!unsafe",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_QUOTED = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\n]|'')*'")
# A comment starts at '#' at the start of a line or after a space or tab, once quoted text
# is gone; a '[' inside one is prose, not nesting.
_COMMENT = re.compile(r"(?:^|(?<=[ \t]))#[^\n]*", re.MULTILINE)
_BRACKET = re.compile(r"[\[\]{}]")
STR_TAG = "tag:yaml.org,2002:str"


class YamlSourceError(Exception):
    """The file could not be read as YAML at all."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def format_path(path: KeyPath) -> str:
    """Render ('municipalities', 0, 'slug') as municipalities[0].slug."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _walk(node: Any, path: KeyPath, lines: dict[KeyPath, int]) -> Any:
    if isinstance(node, CommentedMap):
        plain: dict[Any, Any] = {}
        for key, value in node.items():
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                lines[(*path, str(key))] = node.lc.key(key)[0] + 1
            plain[key] = _walk(value, (*path, str(key)), lines)
        return plain
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            with contextlib.suppress(KeyError, TypeError, AttributeError, IndexError):
                lines[(*path, index)] = node.lc.item(index)[0] + 1
            items.append(_walk(value, (*path, index), lines))
        return items
    if isinstance(node, TaggedScalar) and str(node.tag) == STR_TAG:
        return str(node.value)  # `!!str x` is x, as its long form already reads
    return node


def load(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Return (plain data, line of each key path). Raise YamlSourceError if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlSourceError(
            Problem(str(path), "(file)", "file not found", "create it or pass the right path")
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise YamlSourceError(
            Problem(str(path), "(file)", f"cannot read: {exc}", "save it as UTF-8 text")
        ) from None
    return loads(text, str(path))


def _too_deep_in_flow(text: str) -> int | None:
    """The line where [ and { nest deeper than MAX_DEPTH, found on the raw text: the YAML
    scanner slows down quadratically on deep flow collections, even before a parser sees them."""
    depth = 0
    plain = _COMMENT.sub("", _QUOTED.sub("", text))
    for match in _BRACKET.finditer(plain):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return plain.count("\n", 0, match.start()) + 1
    return None


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def _check_events(yaml: YAML, text: str, filename: str) -> None:
    """Depth, aliases, expansion and tags from the event stream, before any node is built."""
    stack: list[list[Any]] = []  # per open collection: [expanded size, anchor]
    sizes: dict[str, int] = {}  # anchor → expanded size of its node
    aliases = 0

    def fail(event: Any, key: str, message: str, fix: str) -> None:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        raise YamlSourceError(Problem(filename, key, message, fix, line))

    def add(event: Any, size: int) -> None:
        if stack:
            stack[-1][0] += size
        if size > MAX_NODES or (stack and stack[-1][0] > MAX_NODES):
            fail(
                event,
                "(aliases)",
                f"expands to more than {MAX_NODES:,} values through aliases (*name)",
                "write the values out; config files here need no anchors or aliases",
            )

    for event in yaml.parse(text):
        tag = getattr(event, "tag", None) if isinstance(event, NodeEvent) else None
        if tag is not None and tag not in ALLOWED_TAGS:
            fail(
                event,
                "(tag)",
                f"explicit YAML tag {_short_tag(tag)} is not accepted",
                "remove the tag and write the value plainly (quote it to keep it as text)",
            )
        if isinstance(event, CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                fail(
                    event,
                    "(nesting)",
                    f"nested more than {MAX_DEPTH} levels deep",
                    "flatten the structure; see the shipped file for the expected shape",
                )
            stack.append([1, event.anchor])
        elif isinstance(event, CollectionEndEvent) and stack:
            size, anchor = stack.pop()
            if anchor:
                sizes[anchor] = size
            add(event, size)
        elif isinstance(event, ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(event, 1)
        elif isinstance(event, AliasEvent):
            if any(anchor == event.anchor for _, anchor in stack):
                fail(
                    event,
                    "(aliases)",
                    f"*{event.anchor} refers to &{event.anchor} from inside it: the value "
                    "would contain itself without end",
                    "write the values out; config files here need no anchors or aliases",
                )
            aliases += 1
            if aliases > MAX_ALIASES:
                fail(
                    event,
                    "(aliases)",
                    f"uses more than {MAX_ALIASES} aliases (*name)",
                    "write the values out; config files here need no anchors or aliases",
                )
            add(event, sizes.get(str(event.anchor), 1))


def _syntax_problem(exc: Exception, filename: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    reason = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    return Problem(filename, "(syntax)", f"not valid YAML: {reason}", "fix the YAML syntax", line)


def loads(text: str, filename: str) -> tuple[Any, dict[KeyPath, int]]:
    """Like load, for text already in memory."""
    data, lines = _parsed(text, filename)
    return copy.deepcopy(data), dict(lines)


# One command reads the same unchanged files many times (validate, then the command's own
# reading; the diff per revision and per play) and the pure-Python parser takes tens of
# milliseconds per file: a parsed file is kept, and each caller gets its own copy.
@functools.lru_cache(maxsize=32)
def _parsed(text: str, filename: str) -> tuple[Any, dict[KeyPath, int]]:
    if len(text) > MAX_BYTES:
        raise YamlSourceError(
            Problem(
                filename,
                "(file)",
                f"is {len(text):,} characters long; the limit is {MAX_BYTES:,}",
                "this is a small config file: check that the right file is named",
            )
        )
    deep = _too_deep_in_flow(text)
    if deep is not None:
        raise YamlSourceError(
            Problem(
                filename,
                "(nesting)",
                f"[ and {{ nest more than {MAX_DEPTH} levels deep",
                "flatten the structure; see the shipped file for the expected shape",
                deep,
            )
        )
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        _check_events(yaml, text, filename)
        node = yaml.load(text)
    except YamlSourceError:
        raise
    except YAMLError as exc:
        raise YamlSourceError(_syntax_problem(exc, filename)) from None
    except (ValueError, TypeError, OverflowError, RecursionError, MemoryError) as exc:
        # The YAML library's own constructors: a value it cannot build.
        raise YamlSourceError(
            Problem(
                filename,
                "(syntax)",
                f"cannot be read as YAML: {type(exc).__name__}: {exc}"[:300],
                "fix the value named here; write plain values without tags",
            )
        ) from None
    lines: dict[KeyPath, int] = {}
    return _walk(node, (), lines), lines


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of path, or of its nearest ancestor that has one."""
    for end in range(len(path), 0, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return None
