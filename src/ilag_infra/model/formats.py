"""Every textual format a field must have, in one place, each matched whole.

`re.match(...$)` lets a final newline through and `\\d` accepts any Unicode digit (`１８７１`),
so every format here is an explicit ASCII character class compiled with re.ASCII and only
ever applied with fullmatch, through `matches`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_FLAGS = re.ASCII

# A municipality, region, site or network name: also part of Azure names and file paths.
SLUG = re.compile(r"[a-z][a-z0-9-]{0,30}", _FLAGS)
# A DNS name with at least one dot and a letters-only top-level label.
FQDN = re.compile(
    r"(?=.{4,253}\Z)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}", _FLAGS
)
# The internal DNS zone: lowercase only, as Azure private DNS stores it.
DNS_DOMAIN = re.compile(
    r"(?=.{4,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", _FLAGS
)
# An Entra ID object id.
UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", _FLAGS
)
KOMMUNENUMMER = re.compile(r"[0-9]{4}", _FLAGS)
# A host name is also an SSH target and a file name: letters, digits, '-', '.'.
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", _FLAGS)
# Ansible's rule for variable names.
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", _FLAGS)
# An inventory group: Ansible's variable rule, plus '-' because municipality groups are slugs.
GROUP = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,62}", _FLAGS)

# Names Ansible gives a meaning of its own in a host pattern or an inventory: a host named
# like one of these takes the pattern over (`all` selecting one host) or runs on the
# control machine (`localhost`).
RESERVED_HOST_NAMES = frozenset({"all", "ungrouped", "localhost"})

# Unicode categories that are never part of a name a person typed: control and format
# characters (ESC, bidi overrides, zero-width joiners), surrogates, unassigned and private
# use code points, line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def matches(pattern: re.Pattern[str], value: Any) -> bool:
    """True when value is text and the whole of it has the format."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def invisible_characters(value: str) -> list[str]:
    """The control and format characters in a free-text value, as escapes (e.g. '\\x1b')."""
    found = [c for c in value if unicodedata.category(c) in _INVISIBLE]
    return [ascii(c)[1:-1] for c in dict.fromkeys(found)]
