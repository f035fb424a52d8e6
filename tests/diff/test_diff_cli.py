"""`ilag diff [BASE]`: the base as an argument (or --base), and every other file named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ilag_infra.cli.app import main
from ilag_infra.diff import run as diff_mod
from ilag_infra.diff.ansible import AnsibleDiff
from ilag_infra.diff.render import render

OTHERS = ["src/ilag_infra/cli/app.py", "tests/test_cli_help.py", "docs/operators.md"]


def _report(base: str, head: str | None) -> diff_mod.DiffReport:
    report = diff_mod.DiffReport(base, head or "the working tree", "a" * 40, None)
    report.ansible = AnsibleDiff(changed_files=list(OTHERS), other_files=list(OTHERS))
    return report


@pytest.fixture
def bases(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def fake(root: Path, base: str, head: str | None, **_: Any) -> diff_mod.DiffReport:
        seen.append(base)
        return _report(base, head)

    monkeypatch.setattr(diff_mod, "run_diff", fake)
    return seen


@pytest.mark.parametrize(
    "args", [["HEAD~1"], ["--base", "HEAD~1"], ["-b", "HEAD~1"], ["HEAD~1", "--base", "HEAD~1"]]
)
def test_base_as_argument_or_option(
    args: list[str], bases: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", *args]) == 0
    assert bases == ["HEAD~1"]
    out = capsys.readouterr().out
    assert "3 other changed file(s)" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [([], "no base revision given"), (["HEAD~1", "--base", "main"], "two bases given")],
)
def test_no_base_or_two_bases_is_bad_input(
    args: list[str], says: str, bases: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", *args]) == 2
    err = capsys.readouterr().err
    assert says in err and "BASE" in err and "ilag diff HEAD~1" in err
    assert bases == []


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_other_changed_files_are_named(fmt: str) -> None:
    out = render(_report("HEAD~1", None), fmt)
    assert "3 other changed file(s)" in out
    for path in OTHERS:
        assert path in out, (fmt, path)


def test_markdown_names_at_most_fifty_other_files() -> None:
    report = _report("HEAD~1", None)
    assert report.ansible is not None
    report.ansible.other_files = [f"docs/page{i:03d}.md" for i in range(120)]
    out = render(report, "markdown")
    assert "docs/page049.md" in out and "docs/page050.md" not in out and "and 70 more" in out
    assert "docs/page119.md" in render(report, "text")
