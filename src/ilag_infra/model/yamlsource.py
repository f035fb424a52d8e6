"""Read YAML into plain data while remembering the line of every key, for error messages."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from ilag_infra.model.errors import Problem

KeyPath = tuple[str | int, ...]


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
    return node


def load(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Return (plain data, line of each key path). Raise YamlSourceError if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlSourceError(
            Problem(str(path), "(file)", "file not found", "create it or pass the right path")
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlSourceError(
            Problem(str(path), "(file)", f"cannot read: {exc}", "save it as UTF-8 text")
        ) from None
    return loads(text, str(path))


def loads(text: str, filename: str) -> tuple[Any, dict[KeyPath, int]]:
    """Like load, for text already in memory."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSourceError(
            Problem(filename, "(syntax)", f"not valid YAML: {reason}", "fix the YAML syntax", line)
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
