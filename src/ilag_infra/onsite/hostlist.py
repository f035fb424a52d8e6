"""The hosts a run would reach, resolved by Ansible's own inventory code from the same sources."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilag_infra.model import inventory
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.onsite.targets import Target, lab_prefix


@dataclass(frozen=True)
class SshHost:
    name: str
    municipality: str
    address: str
    port: int
    user: str
    key_file: Path | None
    # Ansible's variables for the host (group_vars, host_vars, the lab overlay): the audit
    # judges a host against what the roles were told to apply there.
    inventory_vars: Mapping[str, Any] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )


def resolve(
    target: Target, slug: str, limit: str | None = None, require_pins: bool = True
) -> list[SshHost]:
    """Hosts of one municipality as ansible-playbook would see them (lab overlay included)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    target.check_ready(slug, require_pins)
    inv = inventory.manager(target.inventory_sources(slug))
    vm = VariableManager(loader=DataLoader(), inventory=inv)
    pattern = target.host_pattern(limit) or "all"
    hosts = []
    for name in inventory.select(inv, pattern):
        h = inv.get_host(name)
        hv = vm.get_vars(host=h, include_hostvars=False)
        key = hv.get("ansible_ssh_private_key_file") or hv.get("ansible_private_key_file")
        hosts.append(
            SshHost(
                name=h.name,
                municipality=slug,
                address=str(hv.get("ansible_host", h.name)),
                port=int(hv.get("ansible_port", 22)),
                user=str(hv.get("ansible_user", "root")),
                key_file=Path(str(key)) if key else None,
                inventory_vars=hv,
            )
        )
    if target.env == "lab":
        _inside_lab(hosts, target.inventory_sources(slug)[-1])
    if not hosts:
        raise InputError(
            [
                Problem(
                    str(target.inventory_sources(slug)[1]),
                    pattern,
                    f"no hosts match in {slug}",
                    "check --limit and the inventory",
                )
            ]
        )
    return sorted(hosts, key=lambda x: x.name)


def _inside_lab(hosts: list[SshHost], overlay: Path) -> None:
    """Refuse any lab host whose address the lab did not create (e.g. a production address
    set in host_vars, which outranks the lab overlay): lab runs reach only the lab."""
    prefix = lab_prefix()
    bad = []
    for h in hosts:
        try:
            inside = prefix is not None and ipaddress.IPv4Address(h.address) in prefix
        except ValueError:
            inside = False
        if not inside:
            bad.append(f"{h.name} -> {h.address}")
    if bad:
        raise InputError(
            [
                Problem(
                    str(overlay),
                    "ansible_host",
                    f"lab run would reach addresses outside the lab ({prefix}): {', '.join(bad)}",
                    "remove ansible_host from inventories/*/host_vars (the lab sets it), "
                    "or run `ilag lab up` again",
                )
            ]
        )


def find(target: Target, slugs: list[str], name: str) -> SshHost:
    """One host by inventory name, searched in the given municipalities (no pins needed)."""
    unresolved: list[Problem] = []
    resolved = 0
    for slug in slugs:
        try:
            hosts = resolve(target, slug, require_pins=False)
        except InputError as exc:
            unresolved += exc.problems
            continue
        resolved += 1
        for h in hosts:
            if h.name == name:
                return h
    if not resolved and unresolved:
        # No inventory could be read at all (e.g. the lab is down): that, with its fix, is
        # the problem, not the host name.
        raise InputError(unresolved)
    raise InputError(
        [
            Problem(
                "command line",
                "HOST",
                f"no host {name!r} in the inventories",
                "use a name from inventories/<municipality>/hosts.yml",
            )
        ]
    )
