"""One way to print for people: wide enough for tables even in CI logs and pipes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from ilag_infra.model.shown import controls_escaped

# Rich falls back to 80 columns without a terminal, which truncates host names in tables.
_PIPE_WIDTH = 160


class SafeConsole(Console):
    """A console that never writes a control character it did not make itself.

    Values from a user's file are escaped where they are put into markup or cells (see
    ilag_infra.model.shown); this is the net under that: any ESC, C0/C1 control or DEL left in
    the text of what is printed is written as its escape, so it cannot reach the terminal raw.
    Rich's own codes (styles, cursor moves) are not text and pass.
    """

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and segment.text:
                text = controls_escaped(segment.text, keep="\n")
                if text != segment.text:
                    segment = Segment(text, segment.style)
            yield segment


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width, else wide for logs and pipes."""
    probe = Console(stderr=stderr)
    # emoji=False: text from a user's file is printed as written ("line:100:" is no emoji).
    if probe.is_terminal:
        return SafeConsole(stderr=stderr, highlight=False, emoji=False)
    return SafeConsole(stderr=stderr, highlight=False, emoji=False, width=_PIPE_WIDTH)


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
