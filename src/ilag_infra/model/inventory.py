"""Per-municipality inventories, read as data and checked against the region model."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilag_infra.model import yamlsource
from ilag_infra.model.errors import InventoryError, Problem
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.yamlsource import KeyPath, format_path, line_of

INVENTORY_DIR = "inventories"
HOSTS_FILE = "hosts.yml"
# Directory entries under inventories/ that are not municipalities.
SHARED_ENTRIES = {"group_vars", "host_vars", "region.yml"}


@dataclass
class Host:
    name: str
    municipality: str
    address: str | None
    groups: set[str] = field(default_factory=set)
    key: KeyPath = ()
    line: int | None = None


@dataclass
class Inventory:
    municipality: str
    path: Path
    hosts: dict[str, Host]


def inventory_path(root: Path, slug: str) -> Path:
    return root / INVENTORY_DIR / slug / HOSTS_FILE


def _collect(
    node: Any,
    group: str,
    key: KeyPath,
    lines: dict[KeyPath, int],
    inv: Inventory,
    errs: list[Problem],
) -> None:
    """Walk Ansible's YAML inventory shape: group → hosts / children / vars."""
    if node is None:
        return
    if not isinstance(node, dict):
        errs.append(
            Problem(
                str(inv.path),
                format_path(key),
                "a group must be a mapping",
                "use keys hosts:, children: and vars:",
                line_of(lines, key),
            )
        )
        return
    for section, value in node.items():
        skey = (*key, str(section))
        if section == "hosts":
            for name, hvars in (value or {}).items():
                hkey = (*skey, str(name))
                host = inv.hosts.setdefault(
                    str(name),
                    Host(str(name), inv.municipality, None, set(), hkey, line_of(lines, hkey)),
                )
                host.groups.add(group)
                if isinstance(hvars, dict) and "ansible_host" in hvars:
                    if host.address is not None and host.address != str(hvars["ansible_host"]):
                        errs.append(
                            Problem(
                                str(inv.path),
                                format_path(hkey),
                                f"host {name} has two addresses: {host.address} and "
                                f"{hvars['ansible_host']}",
                                "set ansible_host once",
                                line_of(lines, hkey),
                            )
                        )
                    host.address = str(hvars["ansible_host"])
                    host.key, host.line = (
                        (*hkey, "ansible_host"),
                        line_of(lines, (*hkey, "ansible_host")),
                    )
        elif section == "children":
            for child, cnode in (value or {}).items():
                _collect(cnode, str(child), (*skey, str(child)), lines, inv, errs)
        elif section != "vars":
            errs.append(
                Problem(
                    str(inv.path),
                    format_path(skey),
                    f"unknown group key {section!r}",
                    "use hosts:, children: or vars:",
                    line_of(lines, skey),
                )
            )


def load(root: Path, slug: str) -> tuple[Inventory, dict[KeyPath, int], list[Problem]]:
    """Read one municipality's hosts.yml; structural problems are returned, not raised."""
    path = inventory_path(root, slug)
    inv = Inventory(slug, path, {})
    try:
        data, lines = yamlsource.load(path)
    except yamlsource.YamlSourceError as exc:
        return inv, {}, [exc.problem]
    if not isinstance(data, dict) or not isinstance(data.get("all"), dict):
        return (
            inv,
            lines,
            [
                Problem(
                    str(path),
                    "(top level)",
                    "expected 'all:' with children",
                    "see inventories/andoy/hosts.yml for the shape",
                )
            ],
        )
    errs: list[Problem] = []
    _collect(data["all"], "all", ("all",), lines, inv, errs)
    return inv, lines, errs


def load_all(region: LoadedRegion, root: Path) -> dict[str, Inventory]:
    """Load and cross-check every municipality's inventory; raise InventoryError on problems."""
    problems: list[Problem] = []
    inventories: dict[str, Inventory] = {}
    base = root / INVENTORY_DIR
    slugs = region.model.slugs
    for slug in slugs:
        path = inventory_path(root, slug)
        if not path.exists():
            problems.append(
                Problem(
                    str(path),
                    "(file)",
                    f"municipality {slug!r} has no inventory",
                    f"create {path.relative_to(root)} with its servers",
                )
            )
            continue
        inv, _, errs = load(root, slug)
        problems.extend(errs)
        inventories[slug] = inv
    if base.is_dir():
        for entry in sorted(base.iterdir()):
            if entry.name not in SHARED_ENTRIES and entry.name not in slugs and entry.is_dir():
                problems.append(
                    Problem(
                        str(entry),
                        "(directory)",
                        f"inventory for unknown municipality {entry.name!r}",
                        f"add it to {region.path} or remove the directory; "
                        f"known: {', '.join(slugs)}",
                    )
                )
    problems.extend(_cross_check(region, inventories))
    if problems:
        raise InventoryError(problems)
    return inventories


def _cross_check(region: LoadedRegion, inventories: dict[str, Inventory]) -> list[Problem]:
    problems: list[Problem] = []
    seen_names: dict[str, Host] = {}
    seen_addrs: dict[str, Host] = {}
    for slug, inv in inventories.items():
        muni = region.model.municipality(slug)
        for host in inv.hosts.values():

            def add(message: str, fix: str, inv: Inventory = inv, host: Host = host) -> None:
                problems.append(
                    Problem(str(inv.path), format_path(host.key), message, fix, host.line)
                )

            if host.name in seen_names:
                add(
                    f"host name {host.name} is also used in {seen_names[host.name].municipality}",
                    "host names must be unique across the region; rename one",
                )
            seen_names.setdefault(host.name, host)
            if host.address is None:
                add(f"host {host.name} has no ansible_host", "give it an ansible_host address")
                continue
            try:
                addr = ipaddress.IPv4Address(host.address)
            except ValueError:
                add(
                    f"ansible_host {host.address!r} of {host.name} is not an IPv4 address",
                    "use the server's IPv4 address",
                )
                continue
            if host.address in seen_addrs:
                other = seen_addrs[host.address]
                add(
                    f"address {host.address} of {host.name} is also used by {other.name} "
                    f"({other.municipality})",
                    "give every server its own address",
                )
            seen_addrs.setdefault(host.address, host)
            if not any(addr in net for net in muni.networks):
                nets = ", ".join(str(n) for n in muni.networks)
                add(
                    f"{host.name} at {host.address} is outside {slug}'s networks ({nets})",
                    f"use an address in {slug}'s on-site networks, or add the network to "
                    f"{region.path}",
                )
    return problems
