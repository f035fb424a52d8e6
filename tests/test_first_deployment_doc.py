"""docs/first-deployment.md: every step names who does it, and its offline commands work.

The offline commands are the `ilag` lines of its shell blocks whose command needs no Azure
account. Each runs here, on the shipped repository, as the document says to run it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from ilag_infra.cli.app import main

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "first-deployment.md"
OFFLINE = {"validate", "plan", "access", "region"}
# What the shipped repository answers: its placeholders are refused for production.
EXPECTED_RC = {("validate", "--env", "prod"): 2}


def _shell_lines() -> list[str]:
    out, inside = [], False
    for line in DOC.read_text("utf-8").splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
            continue
        if inside:
            out.append(line.split("#", 1)[0].strip())
    return [line for line in out if line]


def _offline() -> list[list[str]]:
    commands = []
    for line in _shell_lines():
        words = shlex.split(line)
        if words and words[0] == "ilag" and words[1] in OFFLINE:
            commands.append(words[1:])
    return commands


def test_the_document_has_offline_commands_and_names_who_does_each_step() -> None:
    assert len(_offline()) >= 4
    text = DOC.read_text("utf-8")
    steps = re.findall(r"^## \d+\. .*$", text, flags=re.M)
    assert len(steps) >= 9
    for step in steps:
        assert re.search(r"\((Owner|Operator|Technician|CI|Owner or repository admin)", step), step
    for needed in ("pulumi up -s network", "pulumi up -s identity", "pulumi up -s backup"):
        assert needed in text
    assert text.index("pulumi up -s network") < text.index("pulumi up -s identity")
    assert text.index("pulumi up -s identity") < text.index("pulumi up -s backup")
    for topic in ("secrets-provider", "bootstrap identity", "lock", "ilag cert issue"):
        assert topic in text


@pytest.mark.parametrize("args", _offline(), ids=lambda a: " ".join(a))
def test_each_offline_command_runs_as_documented(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(args)
    out = capsys.readouterr()
    want = EXPECTED_RC.get(tuple(args), 0)
    assert rc == want, out.out[-2000:] + out.err[-2000:]
