"""One way to print for people: wide enough for tables even in CI logs and pipes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console

# Rich falls back to 80 columns without a terminal, which truncates host names in tables.
_PIPE_WIDTH = 160


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width, else wide for logs and pipes."""
    probe = Console(stderr=stderr)
    # emoji=False: text from a user's file is printed as written ("line:100:" is no emoji).
    if probe.is_terminal:
        return Console(stderr=stderr, highlight=False, emoji=False)
    return Console(stderr=stderr, highlight=False, emoji=False, width=_PIPE_WIDTH)


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr while something takes seconds; nothing unless stderr is a
    terminal, so pipes, CI logs and --json output stay clean."""
    err = make_console(stderr=True)
    if not err.is_terminal:
        yield
        return
    with err.status(message):
        yield
