"""Shared fixtures: the repo root and copies of the shipped region to break on purpose."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Tests plan afresh and leave the user's plan cache alone; the cache's own tests set one.
os.environ["ILAG_PLAN_CACHE"] = "off"


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def region_copy(tmp_path: Path) -> Path:
    """A writable copy of region.yaml and inventories/ in a temp dir; returns the region path."""
    shutil.copy(REPO / "region.yaml", tmp_path / "region.yaml")
    shutil.copytree(REPO / "inventories", tmp_path / "inventories")
    return tmp_path / "region.yaml"


# In CI (ILAG_REQUIRE_LAB=1) a lab test that skips is a failure: the lab must really run there.
_skipped_lab: list[str] = []
_ran_lab: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "lab" not in report.keywords:
        return
    if report.skipped:
        _skipped_lab.append(report.nodeid)
    elif report.when == "call":
        _ran_lab.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not os.environ.get("ILAG_REQUIRE_LAB"):
        return
    selected_lab = any("lab" in item.keywords for item in session.items)
    if _skipped_lab or (selected_lab and not _ran_lab):
        print(f"\nILAG_REQUIRE_LAB is set but lab tests did not run: {_skipped_lab or 'none ran'}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
