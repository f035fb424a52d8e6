"""Each host's backup set as the backup_agent role computes it: its defaults, plus the
inventories' group and host layers, plus the canary and staging directories it always adds.

Ansible's own variable manager reads the inventories (group_vars, host_vars, precedence), so
a host in two groups gets the value Ansible would give it; only the role defaults are read
here, from the role's defaults file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from ilag_infra.model import inventory, yamlsource

DEFAULTS = Path("roles") / "backup_agent" / "defaults" / "main.yml"
BACKUP_GROUP = "backup_clients"


def _paths(value: Any) -> list[str]:
    """A list of plain absolute paths; a templated or odd value is left out (unknown here)."""
    if not isinstance(value, list):
        return []
    return [str(v) for v in value if isinstance(v, str) and v.startswith("/") and "{{" not in v]


def role_defaults(root: Path) -> dict[str, Any]:
    data, _ = yamlsource.load(root / DEFAULTS)
    return data if isinstance(data, dict) else {}


def always_added(defaults: dict[str, Any]) -> list[str]:
    """The canary's directory and the staging directory (backup_agent__paths_merged)."""
    state = str(defaults.get("backup_agent__state_dir", "/var/lib/ilag-backup"))
    staging = str(defaults.get("backup_agent__staging_dir", "/var/backups/ilag-staging"))
    return [f"{state}/canary", staging]


def for_municipality(root: Path, slug: str) -> dict[str, list[str]]:
    """host → its backup paths, for every backup client of the municipality."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    defaults = role_defaults(root)
    manager = inventory.manager(inventory.sources(root, slug))
    variables = VariableManager(loader=DataLoader(), inventory=manager)
    out: dict[str, list[str]] = {}
    for host in manager.get_hosts(pattern=BACKUP_GROUP):
        seen = variables.get_vars(host=host, include_hostvars=False)
        layers = [
            _paths(seen.get(name, defaults.get(name)))
            for name in (
                "backup_agent__paths",
                "backup_agent__group_paths",
                "backup_agent__host_paths",
            )
        ]
        merged = [p for layer in layers for p in layer] + always_added(defaults)
        out[host.name] = list(dict.fromkeys(merged))
    return out


def for_region(root: Path, slugs: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    return {slug: for_municipality(root, slug) for slug in slugs}


def covers(backup_paths: Iterable[str], path: str) -> bool:
    """Whether path is one of backup_paths or lies below one of them."""
    target = PurePosixPath(path)
    return any(
        target == PurePosixPath(p) or PurePosixPath(p) in target.parents for p in backup_paths
    )
