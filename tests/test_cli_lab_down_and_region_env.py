"""With no lab, host commands say so (and how to fix it) instead of blaming the host name; and
ILAG_REGION is followed by every command built on the CLI context."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilag_infra.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    "args", [["restore", "andoy-fil01", "/etc"], ["backup", "ls", "andoy-fil01"]]
)
def test_no_lab_names_the_lab_not_the_host(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An empty lab directory: the real lab, whatever its state, is not looked at.
    monkeypatch.setenv("ILAG_LAB_DIR", str(tmp_path))
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    code, text = run(capsys, *args)
    assert code == 2, text
    assert "ilag lab up" in text and str(tmp_path) in text
    assert "no host" not in text and "Traceback" not in text
    assert not (tmp_path / "runs").exists()


def test_an_unknown_host_with_the_inventories_readable_is_still_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # prod inventories live in the repository: no lab needed to resolve them.
    code, text = run(capsys, "restore", "andoy-nosuch01", "/etc", "--env", "prod")
    assert code == 2 and "no host 'andoy-nosuch01'" in text, text


def test_ilag_region_is_followed_by_audit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ILAG_REGION", "/nonexistent")
    code, text = run(capsys, "audit", "andoy")
    assert code == 2, text
    assert "/nonexistent" in text and "Traceback" not in text
