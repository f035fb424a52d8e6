"""The local lab: real Debian 12 hosts (systemd-nspawn) and an Azure Blob emulator (Azurite).

`up` builds it, `down` removes it and proves nothing is left, `status` reports on it; `cut`
and `reconnect` simulate a municipality's outage. See `ilag lab --help`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ilag_infra.lab.errors import LabError
    from ilag_infra.lab.lifecycle import (
        HostStatus,
        LabStatus,
        cut,
        down,
        lab_state,
        leftovers,
        reconnect,
        regenerate_host_key,
        status,
        up,
    )
    from ilag_infra.lab.net import DEFAULT_LAB_PREFIX
    from ilag_infra.lab.paths import LabPaths, lab_paths
    from ilag_infra.lab.state import HostState, LabState

# Loaded on first use: `ilag` imports this package for its constants, and the lifecycle
# brings in the Blob SDK, which only the lab commands need.
_HOME = {
    "LabError": "errors",
    "HostStatus": "lifecycle",
    "LabStatus": "lifecycle",
    "cut": "lifecycle",
    "down": "lifecycle",
    "lab_state": "lifecycle",
    "leftovers": "lifecycle",
    "reconnect": "lifecycle",
    "regenerate_host_key": "lifecycle",
    "status": "lifecycle",
    "up": "lifecycle",
    "DEFAULT_LAB_PREFIX": "net",
    "LabPaths": "paths",
    "lab_paths": "paths",
    "HostState": "state",
    "LabState": "state",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_LAB_PREFIX",
    "HostState",
    "HostStatus",
    "LabError",
    "LabPaths",
    "LabState",
    "LabStatus",
    "cut",
    "down",
    "lab_paths",
    "lab_state",
    "leftovers",
    "reconnect",
    "regenerate_host_key",
    "status",
    "up",
]
