"""Every command's help, rendered at 80 columns as a new user sees it, reads well.

No hard-wrapped paragraph breaking mid-sentence, no `[[`, `{host}` or `<bool>` in it, usage
lines as people write them, and at least one example per command that the command accepts.
"""

from __future__ import annotations

import itertools
import re
import shlex
from typing import Any

import pytest
import typer

from ilag_infra.cli.app import build_app, main

WIDTH = 80
BAR = "│"


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, cmd in group.commands.items():
        found.append(((*prefix, name), cmd))
        if getattr(cmd, "commands", None):
            found += _commands(cmd, (*prefix, name))
    return found


ROOT = typer.main.get_command(build_app())
COMMANDS = _commands(ROOT)
PATHS = [()] + [path for path, _ in COMMANDS]


def render(path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: Any) -> str:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("TERMINAL_WIDTH", str(WIDTH))
    code = main([*path, "--help"])
    out, _ = capsys.readouterr()
    assert code == 0, (path, out)
    return out


def _cell(line: str) -> tuple[int, int] | None:
    """(start column, right boundary) of a line's last text cell, or None for a blank line."""
    if not line.strip(" " + BAR):
        return None
    if line.lstrip().startswith(BAR):
        right = line.rindex(BAR) - 1  # one column of padding inside the box
        inner = line[: right + 1]
        start = len(inner) - len(inner[line.index(BAR) + 1 :].lstrip())
        return start, right
    return len(line) - len(line.lstrip()), WIDTH - 1  # help text is padded one column right


def broken_lines(text: str) -> list[str]:
    """Pairs of lines where the second continues a paragraph whose first word would have fit
    on the line before: the mark of a hard-wrapped docstring."""
    lines = [line.rstrip() for line in text.splitlines()]
    faults = []
    for a, b in itertools.pairwise(lines):
        ca, cb = _cell(a), _cell(b)
        if ca is None or cb is None:
            continue
        start, right = cb
        if start >= len(a) or a[start] in " " + BAR or a[start - 1] not in " " + BAR:
            continue  # b's text does not continue a's column
        if BAR in b and start < 8:
            continue  # a new row of a panel, not a wrapped line
        word = b[start:].split()[0]
        if word.startswith(("[", "ilag", "sudo")) or a.rstrip(" " + BAR).endswith((":", "\\")):
            continue  # a default, an env var, an example or a command's next line: on purpose
        end = len(a.rstrip(" " + BAR)) if BAR in a else len(a)
        if end + 1 + len(word) <= right:
            faults.append(f"{a.strip()!r} / {b.strip()!r}")
    return faults


def examples(text: str) -> list[str]:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Examples:":
            found: list[str] = []
            for follow in lines[i + 1 :]:
                if not follow.strip():
                    break
                if found and found[-1].endswith("\\"):  # a long command's next line
                    found[-1] = found[-1][:-1] + follow.strip()
                else:
                    found.append(follow.strip())
            return found
    return []


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "ilag")
def test_help_reads_well_at_80_columns(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = render(path, monkeypatch, capsys)
    assert "[[" not in out
    assert not re.search(r"\{[A-Za-z_]+(\.\.\.)?\}", out), out
    assert "<bool>" not in out
    assert not broken_lines(out), "\n".join(broken_lines(out))
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    natural = r"Usage: ilag[ a-z-]* \[OPTIONS\]( [A-Z\[\]. ]+| COMMAND \[ARGS\]\.\.\.)?"
    assert re.fullmatch(natural, usage.strip()), usage


@pytest.mark.parametrize("path", [p for p in PATHS if p], ids=" ".join)
def test_every_command_has_an_example_it_accepts(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    found = examples(render(path, monkeypatch, capsys))
    assert found, f"ilag {' '.join(path)} --help shows no example"
    for example in found:
        for part in example.split("&&"):
            words = shlex.split(part.split(">")[0])
            if words[0] == "sudo":
                words = words[1:]
            assert words[0] == "ilag", example
            cmd, args = ROOT, words[1:]
            while getattr(cmd, "commands", None) and args and args[0] in cmd.commands:
                cmd, args = cmd.commands[args[0]], args[1:]
            # Parsing alone: unknown options, missing arguments and bad values fail here.
            cmd.make_context(words[0], list(args))


@pytest.mark.parametrize(
    ("path", "usage"),
    [
        (("apply",), "ilag apply [OPTIONS] [KOMMUNE]..."),
        (("restore",), "ilag restore [OPTIONS] HOST PATH..."),
        (("diff",), "ilag diff [OPTIONS] [BASE]"),
        (("backup", "ls"), "ilag backup ls [OPTIONS] HOST [SNAPSHOT] [PATH]"),
    ],
)
def test_usage_lines_read_naturally(
    path: tuple[str, ...],
    usage: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert f"Usage: {usage}" in render(path, monkeypatch, capsys)


def test_flags_take_no_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = render(("validate",), monkeypatch, capsys)
    line = next(line for line in out.splitlines() if f"{BAR} --json" in line)
    assert re.search(r"--json\s+Print JSON", line), line
    assert main(["validate", "--json", "true"]) == 2  # a flag: `true` is an extra argument


def test_the_check_catches_a_hard_wrapped_paragraph() -> None:
    wrapped = " Runs ansible-runner with pinned host keys\n (checking on), and the stack outputs.\n"
    assert broken_lines(wrapped)
    flowing = " Runs ansible-runner with pinned host keys (checking on), and the stack" + (
        " " * 7 + "\n outputs.\n"
    )
    assert not broken_lines(flowing)
