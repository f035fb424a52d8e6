"""Which names the lab hosts take: the municipality's inventory hosts first, then generated ones."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ilag_infra.model.errors import InventoryError, Problem

# Hostnames double as nspawn machine names and file names: keep them plain.
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def inventory_file(repo_root: Path, slug: str) -> Path:
    return repo_root / "inventories" / slug / "hosts.yml"


def _walk_group(group: Any, out: list[str]) -> None:
    if not isinstance(group, dict):
        return
    hosts = group.get("hosts")
    if isinstance(hosts, dict):
        for name in hosts:
            if str(name) not in out:
                out.append(str(name))
    children = group.get("children")
    if isinstance(children, dict):
        for child in children.values():
            _walk_group(child, out)


def hosts_in_inventory(data: Any) -> list[str]:
    """Every host under any group of a YAML inventory, first appearance first."""
    out: list[str] = []
    if isinstance(data, dict):
        for group in data.values():
            _walk_group(group, out)
    return out


def read_inventory_hosts(path: Path) -> list[str]:
    """Host names of an inventory file; [] if there is no such file."""
    if not path.is_file():
        return []
    try:
        data = YAML(typ="safe").load(path.read_text())
    except YAMLError as exc:
        raise InventoryError(
            [Problem(str(path), "(file)", f"not valid YAML: {exc}", "fix the syntax")]
        ) from None
    names = hosts_in_inventory(data)
    for name in names:
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
    return names


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
