"""The command-line shapes of `ilag onboard`: `--site` and `--host` read into plain data.

Only the shape is checked here (which separator is missing, what is empty); whether a prefix,
an endpoint or a name is valid is decided by the region model and the inventory model, which
read the written entry exactly as they read every other one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ilag_infra.model.errors import Problem

CLI = "(command line)"
# A network with this name is marked `management: true` (SSH to the servers is allowed from
# it); every shipped municipality names its management network so.
MANAGEMENT_NETWORK = "management"
SITE_SHAPE = "NAME=VPN_ENDPOINT:NET=PREFIX[,NET=PREFIX…]"
SITE_EXAMPLE = "lodingen=198.51.100.51:servers=10.51.10.0/24,management=10.51.99.0/24"
HOST_SHAPE = "NAME=ADDRESS[:GROUP,GROUP…]"
HOST_EXAMPLE = "lodingen-fil01=10.51.10.10:file_servers,backup_clients"
# The lab boots a host under its inventory name as a machine name and a file name: the same
# rule as lab/names.py, so an onboarded municipality can always be booted in the lab.
LAB_HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    prefix: str

    @property
    def management(self) -> bool:
        return self.name == MANAGEMENT_NETWORK


@dataclass(frozen=True)
class SiteSpec:
    name: str
    vpn_endpoint: str
    networks: tuple[NetworkSpec, ...]


@dataclass(frozen=True)
class HostSpec:
    name: str
    address: str
    groups: tuple[str, ...] = field(default_factory=tuple)


def _bad(option: str, text: str, message: str, fix: str) -> Problem:
    return Problem(CLI, f"{option} {text}", message, fix)


def parse_site(text: str) -> SiteSpec | Problem:
    """`NAME=ENDPOINT:NET=PREFIX,…` → SiteSpec, or the Problem saying what part is missing."""
    fix = f"write it as {SITE_SHAPE}, e.g. --site {SITE_EXAMPLE}"
    name, eq, rest = text.partition("=")
    endpoint, colon, nets = rest.partition(":")
    if not eq or not colon:
        return _bad("--site", text, f"is not {SITE_SHAPE}", fix)
    if not name.strip() or not endpoint.strip():
        return _bad("--site", text, "has no site name or no VPN endpoint", fix)
    networks: list[NetworkSpec] = []
    for part in nets.split(","):
        net_name, net_eq, prefix = part.partition("=")
        if not net_eq or not net_name.strip() or not prefix.strip():
            return _bad(
                "--site",
                text,
                f"network {part!r} is not NET=PREFIX",
                f"name each network, e.g. servers=10.51.10.0/24; {fix}",
            )
        net_name = net_name.strip()
        if any(n.name == net_name for n in networks):
            # Two entries of one name would both be written; the name decides management.
            return _bad(
                "--site",
                text,
                f"network name {net_name!r} is given twice in site {name.strip()!r}",
                "give each network of a site its own name, e.g. "
                "servers=10.51.10.0/24,clients=10.51.11.0/24",
            )
        networks.append(NetworkSpec(net_name, prefix.strip()))
    return SiteSpec(name.strip(), endpoint.strip(), tuple(networks))


def parse_host(text: str) -> HostSpec | Problem:
    """`NAME=ADDRESS[:GROUP,…]` → HostSpec, or the Problem saying what is wrong."""
    fix = f"write it as {HOST_SHAPE}, e.g. --host {HOST_EXAMPLE}"
    name, eq, rest = text.partition("=")
    address, colon, groups = rest.partition(":")
    name, address = name.strip(), address.strip()
    if not eq or not name or not address:
        return _bad("--host", text, f"is not {HOST_SHAPE}", fix)
    if not LAB_HOSTNAME.fullmatch(name):
        return _bad(
            "--host",
            text,
            f"host name {name!r} is not a plain lowercase host name",
            "use lowercase letters, digits and '-', e.g. lodingen-fil01 (it is also the lab "
            "machine's name)",
        )
    names = tuple(g.strip() for g in groups.split(",")) if colon else ()
    if any(not g for g in names):
        return _bad("--host", text, "has an empty group name", fix)
    repeated = sorted({g for g in names if names.count(g) > 1})
    if repeated:
        # The inventory would list the host twice under that group: not valid YAML.
        return _bad(
            "--host",
            text,
            f"repeats the group(s) {', '.join(map(repr, repeated))}",
            f"give each group once, e.g. --host {name}={address}:" + ",".join(dict.fromkeys(names)),
        )
    return HostSpec(name, address, names)
