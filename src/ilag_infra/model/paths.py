"""Where the repository is: the directory holding region.yaml."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """ILAG_ROOT, else the nearest directory upward from here holding region.yaml, else the
    checkout this package was installed from (editable installs)."""
    env = os.environ.get("ILAG_ROOT")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for d in (cwd, *cwd.parents):
        if (d / "region.yaml").is_file() and (d / "inventories").is_dir():
            return d
    return Path(__file__).resolve().parents[2]
