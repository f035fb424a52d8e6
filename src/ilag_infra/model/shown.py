"""Values from a user's file, made safe to print: as text, never as markup or terminal codes.

A name in region.yaml, an inventory or a cost export reaches a terminal or a rich table. There
it must read as written: `Bø [bold]x[/]` stays literal, and an ESC, another C0 or C1 control,
DEL, or a bidirectional override is shown as its escape (`\\x1b`), so it cannot recolour,
move the cursor or reorder what follows. Every renderer goes through here.
"""

from __future__ import annotations

import re

from rich.markup import escape
from rich.text import Text

# C0 controls, DEL, C1 controls, and the Unicode bidirectional formatting characters that can
# make a line read differently from its bytes (the "Trojan Source" class).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def controls_escaped(value: object, keep: str = "") -> str:
    """`value` as text with every control character written as its escape; the characters in
    `keep` (say "\\n" for a multi-line message) pass unchanged."""

    def one(match: re.Match[str]) -> str:
        return match.group() if match.group() in keep else _escaped(match)

    return _CONTROL.sub(one, str(value))


def shown(value: object, keep: str = "") -> str:
    """`value` ready to interpolate into rich markup: control characters escaped, then every
    `[` that rich would read as a tag escaped, so the value prints literally."""
    text = escape(controls_escaped(value, keep))
    if text.endswith("\\"):
        # rich.markup.escape doubles a final backslash so it cannot escape a tag that follows;
        # an empty tag pair makes that hold wherever the value lands, so one backslash prints.
        text += "[bold][/bold]"
    return text


def cell(value: object) -> Text:
    """`value` as a table cell or other renderable: plain text that rich never parses as
    markup, control characters escaped."""
    return Text(controls_escaped(value))
