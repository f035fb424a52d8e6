"""Where the repository is: the directory holding region.yaml. The one place that finds it."""

from __future__ import annotations

import os
from pathlib import Path

REGION_FILE = "region.yaml"


def repo_root() -> Path:
    """ILAG_ROOT, else the nearest directory upward from the working directory holding
    region.yaml and inventories/, else the checkout this package was installed from
    (editable installs: src/ilag_infra/model/paths.py is four levels below it)."""
    env = os.environ.get("ILAG_ROOT")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for d in (cwd, *cwd.parents):
        if (d / REGION_FILE).is_file() and (d / "inventories").is_dir():
            return d
    return Path(__file__).resolve().parents[3]


def region_file(root: Path) -> Path:
    """The region file of a repository."""
    return root / REGION_FILE
