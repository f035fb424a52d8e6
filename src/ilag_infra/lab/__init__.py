"""The local lab: real Debian 12 hosts (systemd-nspawn) and an Azure Blob emulator (Azurite).

`up` builds it, `down` removes it and proves nothing is left, `status` reports on it; `cut`
and `reconnect` simulate a municipality's outage. See `ilag lab --help`.
"""

from __future__ import annotations

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
