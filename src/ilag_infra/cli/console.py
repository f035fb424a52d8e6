"""One way to print for people: wide enough for tables even in CI logs and pipes."""

from __future__ import annotations

from rich.console import Console

# Rich falls back to 80 columns without a terminal, which truncates host names in tables.
_PIPE_WIDTH = 160


def make_console(stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return Console(stderr=stderr, highlight=False)
    return Console(stderr=stderr, highlight=False, width=_PIPE_WIDTH)
