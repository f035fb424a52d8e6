"""Shared fixtures: the repo root and copies of the shipped region to break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def region_copy(tmp_path: Path) -> Path:
    """A writable copy of region.yaml and inventories/ in a temp dir; returns the region path."""
    shutil.copy(REPO / "region.yaml", tmp_path / "region.yaml")
    shutil.copytree(REPO / "inventories", tmp_path / "inventories")
    return tmp_path / "region.yaml"
