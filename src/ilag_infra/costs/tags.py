"""The Tags cell of a cost export: a JSON object (FOCUS) or its body without braces (EA/MCA)."""

from __future__ import annotations

import json


class TagError(ValueError):
    """The Tags cell is not JSON key/value pairs."""


def parse_tags(text: str) -> dict[str, str]:
    """Tag names lowercased (Azure treats tag names case-insensitively); values kept as written.

    FOCUS writes `{"municipality":"andoy"}`. EA and MCA actual-cost files write the pairs without
    the outer braces, `"municipality": "andoy","service": "network"`, with the quotes doubled by
    CSV quoting (the csv module has already undone that here).
    """
    body = text.strip()
    if not body or body in ("{}", "null"):
        return {}
    candidate = body if body.startswith("{") else "{" + body + "}"
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise TagError(f"not JSON key/value pairs ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict):
        raise TagError(f"expected key/value pairs, got a JSON {type(data).__name__}")
    tags: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise TagError(f"tag {key!r} has a nested value; Azure tag values are text")
        tags[str(key).strip().lower()] = "" if value is None else str(value).strip()
    return tags
