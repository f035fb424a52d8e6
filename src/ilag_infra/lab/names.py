"""Which names the lab hosts take: the municipality's inventory hosts first, then generated ones."""

from __future__ import annotations

import re
from pathlib import Path

from ilag_infra.model import inventory
from ilag_infra.model.errors import InventoryError, Problem

# Hostnames double as nspawn machine names and file names: keep them plain.
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def inventory_file(repo_root: Path, slug: str) -> Path:
    return inventory.inventory_path(repo_root, slug)


def read_inventory_hosts(path: Path) -> list[str]:
    """Host names of an inventory file, first appearance first; [] if there is no such file."""
    if not path.is_file():
        return []
    inv, problems = inventory.read(path, path.parent.name)
    if problems:
        raise InventoryError(problems)
    for name in inv.names:
        if not _HOSTNAME.match(name):
            raise InventoryError(
                [
                    Problem(
                        str(path),
                        name,
                        "host name is not a plain lowercase hostname",
                        "use letters, digits and '-' (the lab boots a host with this name)",
                    )
                ]
            )
    return inv.names


def read_inventory_group(path: Path, group: str) -> list[str]:
    """Hosts of an inventory file in `group`, in inventory order; [] without the file."""
    if not path.is_file():
        return []
    inv, problems = inventory.read(path, path.parent.name)
    if problems:
        raise InventoryError(problems)
    members = inv.in_group(group)
    return [n for n in inv.names if n in members]


def lab_host_names(slug: str, inventory_names: list[str], count: int) -> list[str]:
    """The first `count` inventory hosts, topped up with `<slug>-lab01`, `<slug>-lab02`, …"""
    names = inventory_names[:count]
    n = 0
    while len(names) < count:
        n += 1
        candidate = f"{slug}-lab{n:02d}"
        if candidate not in inventory_names:
            names.append(candidate)
    return names
