"""The lab's inventory overlay and pinned known_hosts, one of each per municipality.

`ilag apply` layers the overlay after `inventories/<slug>/hosts.yml`: it gives each lab host
its lab address, user and key, and the lab-only role variables. Those are host variables on
purpose: Ansible ranks host variables from an inventory file above every `group_vars/`
file, so the lab's values win over the region-wide ones without editing them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from ilag_infra.lab.net import MunicipalityNet, NetPlan
from ilag_infra.onsite import ssh
from ilag_infra.onsite.targets import LAB_GROUP

# Inventory hosts that have no lab twin (more inventory hosts than --hosts-per-municipality).
ABSENT_GROUP = "ilag_lab_absent"
# Each municipality's node (playbooks/node.yml, role ilag_node).
NODE_GROUP = "ilag_nodes"


@dataclass(frozen=True)
class LabHost:
    name: str
    ip: str
    public_key: str  # "ssh-ed25519 AAAA… comment"


def lab_overrides(net: MunicipalityNet, service_ip: str) -> dict[str, Any]:
    """Role variables that only the lab sets: the lab has no outside world to point at.

    Every lab-only override lives here, so a renamed role variable is changed in one place.
    """
    return {
        # The machine reaches lab hosts from the bridge's .1: the firewall must keep SSH open
        # from the bridge network, or the first apply would lock the lab out of its own hosts.
        "network__ssh_host_allow_networks": [str(net.subnet)],
        # Every package is pre-seeded in the base root and there is no mirror to refresh from.
        "baseline__apt_update_cache": False,
        "network__apt_update_cache": False,
        "identity__apt_update_cache": False,
        "backup_agent__apt_update_cache": False,
        # Time and names come only from lab addresses (there is no route anywhere else).
        "baseline__ntp_servers": [str(net.gateway)],
        "network__resolvers": [service_ip],
        # The node runs its checks against the lab's files (its own copy of them).
        "ilag_node__env": "lab",
    }


def _unreachable_address(netplan: NetPlan, index: int) -> str:
    # The lab prefix's first /24 holds no bridge: it falls under the lab's unreachable route,
    # so a connection to it fails at once on this machine and never leaves it.
    first = next(netplan.prefix.subnets(new_prefix=24))
    return str(first.network_address + 1 + (index % 253))


def render_overlay(
    slug: str,
    net: MunicipalityNet,
    netplan: NetPlan,
    hosts: list[LabHost],
    inventory_names: list[str],
    operator_key: Path,
    node_names: list[str] | None = None,
) -> dict[str, Any]:
    """The overlay inventory for one municipality, as plain data ready for YAML.

    When the municipality's node is not among the hosts the lab boots (more inventory hosts
    than --hosts-per-municipality), its first lab host stands in as the node."""
    host_vars: dict[str, Any] = {}
    for host in hosts:
        host_vars[host.name] = {
            "ansible_host": host.ip,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(operator_key),
            **lab_overrides(net, str(netplan.service_ip)),
        }
    lab_names = {h.name for h in hosts}
    # Inventory hosts without a lab host must not keep their production address: point them
    # at an unreachable lab address, so even a run without the `ilag_lab` limit stays inside.
    absent = {
        name: {"ansible_host": _unreachable_address(netplan, i)}
        for i, name in enumerate(n for n in inventory_names if n not in lab_names)
    }
    children: dict[str, Any] = {
        slug: {"hosts": host_vars},
        LAB_GROUP: {"hosts": {name: None for name in host_vars}},
    }
    if absent:
        children[ABSENT_GROUP] = {"hosts": absent}
    nodes = [n for n in node_names or [] if n in lab_names] or (
        [hosts[0].name] if hosts and node_names else []
    )
    if nodes:
        children[NODE_GROUP] = {"hosts": {name: None for name in nodes}}
    return {"all": {"children": children}}


def write_yaml(path: Path, data: dict[str, Any], header: str) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        f.write(header)
        f.write("---\n")
        yaml.dump(data, f)


def known_hosts_lines(hosts: list[LabHost]) -> str:
    """Pinned keys as `NAME,IP keytype key`: a client may use either the name or the address."""
    out = []
    for host in hosts:
        ipaddress.IPv4Address(host.ip)  # refuse to pin anything that is not an address
        out.append(ssh.known_hosts_line([host.name, host.ip], ssh.public_key(host.public_key)))
    return "".join(out)
