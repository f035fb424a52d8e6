"""Where the lab keeps its files. One lab per machine: interfaces and routes are machine-wide."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ilag_infra.model.naming import LAB_ESCROW_DIR

DEFAULT_STATE_DIR = Path("/var/lib/ilag-lab")
DEFAULT_CACHE_DIR = Path("/var/cache/ilag-lab")
STATE_DIR_ENV = "ILAG_LAB_DIR"
# Which state dir's lab owns this machine's lab interfaces. Under /run: it goes at reboot,
# like the interfaces themselves.
OWNER_FILE = Path("/run/ilag-lab/owner")
CACHE_DIR_ENV = "ILAG_LAB_CACHE"


@dataclass(frozen=True)
class LabPaths:
    """Every path the lab writes, derived from one state dir and one cache dir."""

    state: Path
    cache: Path

    @property
    def state_file(self) -> Path:
        return self.state / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.state / "lock"

    @property
    def keys(self) -> Path:
        """Lab identity kept across `down`/`up`: operator key, user CA, restic passwords."""
        return self.state / "keys"

    @property
    def operator_key(self) -> Path:
        return self.keys / "operator_ed25519"

    @property
    def user_ca_key(self) -> Path:
        return self.keys / "ssh_user_ca"

    @property
    def secrets_file(self) -> Path:
        return self.keys / "secrets.json"

    @property
    def escrow(self) -> Path:
        """Each municipality's restic password in escrow (the lab's stand-in for Key Vault),
        one 0600 file each: onsite/escrow.py names them, `ilag backup status` reads them."""
        return self.state / LAB_ESCROW_DIR

    @property
    def hosts(self) -> Path:
        return self.state / "hosts"

    def host_dir(self, name: str) -> Path:
        return self.hosts / name

    @property
    def azurite(self) -> Path:
        return self.state / "azurite"

    @property
    def azurite_log(self) -> Path:
        return self.state / "azurite.log"

    @property
    def outputs_file(self) -> Path:
        return self.state / "outputs.json"

    @property
    def inventory(self) -> Path:
        return self.state / "inventory"

    @property
    def known_hosts(self) -> Path:
        return self.state / "known_hosts"

    @property
    def base_root(self) -> Path:
        return self.cache / "base"

    @property
    def base_stamp(self) -> Path:
        return self.cache / "base.stamp"


def lab_paths() -> LabPaths:
    """The paths in force: the machine-wide defaults unless the environment moves them."""
    state = Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    cache = Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR)
    return LabPaths(state=state.absolute(), cache=cache.absolute())
