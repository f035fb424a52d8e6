"""In CI (ILAG_REQUIRE_LAB=1) the browser test must fail, not skip, when Chromium is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _browser_tests(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # A PATH with only the interpreter's directory: no chromium on it.
    clean = {k: v for k, v in os.environ.items() if k != "ILAG_REQUIRE_LAB"}
    clean.update(PATH=str(Path(sys.executable).parent), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_report_browser.py", "--basetemp", str(tmp_path)],
        cwd=REPO, env=clean, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.skipif(
    (Path(sys.executable).parent / "chromium").exists(), reason="chromium beside the interpreter"
)
def test_missing_chromium_skips_locally_and_fails_in_ci(tmp_path: Path) -> None:
    local = _browser_tests(tmp_path / "local")
    assert local.returncode == 0, local.stdout + local.stderr
    assert "skipped" in local.stdout and "failed" not in local.stdout
    ci = _browser_tests(tmp_path / "ci", ILAG_REQUIRE_LAB="1")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "ILAG_REQUIRE_LAB is set" in ci.stdout and "chromium" in ci.stdout
