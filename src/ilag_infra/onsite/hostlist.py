"""The hosts a run would reach, resolved by Ansible's own inventory code from the same sources."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ilag_infra.model import inventory, jump_host
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.jump_host import Jump
from ilag_infra.onsite.targets import Target, lab_prefix


@dataclass(frozen=True)
class SshHost:
    name: str
    municipality: str
    address: str
    port: int
    user: str
    key_file: Path | None
    # The host is reached through this jump host (ProxyJump in its ssh arguments), as Ansible
    # reaches it; None: directly.
    jump: Jump | None = None
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
    bad_jumps: list[Problem] = []
    for name in inventory.select(inv, pattern):
        h = inv.get_host(name)
        hv = vm.get_vars(host=h, include_hostvars=False)
        key = hv.get("ansible_ssh_private_key_file") or hv.get("ansible_private_key_file")
        try:
            jump = jump_host.from_vars(hv)
        except jump_host.JumpSpecError as exc:
            bad_jumps.append(_jump_problem(target, slug, h.name, exc))
            continue
        hosts.append(
            SshHost(
                name=h.name,
                municipality=slug,
                address=str(hv.get("ansible_host", h.name)),
                port=int(hv.get("ansible_port", 22)),
                user=str(hv.get("ansible_user", "root")),
                key_file=Path(str(key)) if key else None,
                jump=jump,
                inventory_vars=hv,
            )
        )
    if bad_jumps:
        raise InputError(bad_jumps)
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


def _jump_problem(target: Target, slug: str, host: str, exc: jump_host.JumpSpecError) -> Problem:
    """Where a bad jump host is set: beside the host in hosts.yml (or in the lab overlay)."""
    where = " or ".join(str(p) for p in target.inventory_sources(slug)[1:])
    return Problem(where, f"{host}: {exc.var}", str(exc), jump_host.FIX)


def _inside_lab(hosts: list[SshHost], overlay: Path) -> None:
    """Refuse any lab host whose address the lab did not create (e.g. a production address
    set in host_vars, which outranks the lab overlay): lab runs reach only the lab."""
    prefix = lab_prefix()
    bad = []
    for h in hosts:
        # A jump host outside the lab would carry lab traffic out of it just the same.
        for via, address in (("", h.address), (" jump", h.jump.address if h.jump else None)):
            if address is not None and not _in_prefix(address, prefix):
                bad.append(f"{h.name}{via} -> {address}")
    if bad:
        raise InputError(
            [
                Problem(
                    str(overlay),
                    "ansible_host",
                    f"lab run would reach addresses outside the lab ({prefix}): {', '.join(bad)}",
                    "remove ansible_host from inventories/*/host_vars (the lab sets it), "
                    "point a ProxyJump only at a lab host, or run `ilag lab up` again",
                )
            ]
        )


def _in_prefix(address: str, prefix: ipaddress.IPv4Network | None) -> bool:
    try:
        return prefix is not None and ipaddress.IPv4Address(address) in prefix
    except ValueError:
        return False


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
    # A municipality that did not resolve (e.g. a bad jump host) may be where the host is.
    raise InputError(
        [
            *unresolved,
            Problem(
                "command line",
                "HOST",
                f"no host {name!r} in the inventories",
                "use a name from inventories/<municipality>/hosts.yml",
            ),
        ]
    )
