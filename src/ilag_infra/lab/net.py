"""Lab networks: the address plan, the overlap check, and the bridges that carry it.

Each municipality gets a Linux bridge and a /24 from the lab prefix. The machine holds the
bridge's .1; hosts are .11, .12, …  Lab services (Azurite) listen on one address on their own
interface, a bridge without ports that never carries a packet anywhere; hosts reach it through
their bridge's .1, and the machine reaches it locally.
Nothing is routed onward: ip_forward is never touched and there is no NAT, so a lab host can
reach only its own bridge and the service address.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from ilag_infra.lab.errors import LabError
from ilag_infra.lab.proc import run
from ilag_infra.model.errors import InputError, Problem

DEFAULT_LAB_PREFIX = "10.250.0.0/16"
FIRST_HOST_OCTET = 11
INTERFACE_PREFIX = "ilag"
SERVICE_INTERFACE = "ilag-svc"
# Routes the lab adds carry this protocol number, so a later run can find them even if the
# state file that named them was lost. (Numbers above 4 are free for private use.)
ROUTE_PROTO = 158
IFNAMSIZ = 15
# The lab lives only in the RFC 1918 ranges: documentation, shared (CGN) and public ranges may
# be in use on the machine's own network even when they look "private" to Python.
PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)

_OPTION = "--lab-prefix"


@dataclass(frozen=True)
class MunicipalityNet:
    """One municipality's lab network."""

    slug: str
    bridge: str
    subnet: ipaddress.IPv4Network

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        """The machine's address on the bridge: SSH source, NTP and route to lab services."""
        return self.subnet.network_address + 1

    def host_ip(self, index: int) -> ipaddress.IPv4Address:
        return self.subnet.network_address + FIRST_HOST_OCTET + index


@dataclass(frozen=True)
class NetPlan:
    prefix: ipaddress.IPv4Network
    service_ip: ipaddress.IPv4Address
    nets: tuple[MunicipalityNet, ...]

    def net(self, slug: str) -> MunicipalityNet:
        for n in self.nets:
            if n.slug == slug:
                return n
        raise KeyError(
            f"no lab network for {slug!r}; known: {', '.join(n.slug for n in self.nets)}"
        )


def bridge_name(index: int, slug: str) -> str:
    """`ilag<N>-<slug>` cut to the kernel's 15 characters; the number keeps names unique."""
    return f"{INTERFACE_PREFIX}{index}-{slug}"[:IFNAMSIZ]


def _bad(message: str, fix: str) -> InputError:
    return InputError([Problem("command line", _OPTION, message, fix)])


def parse_prefix(text: str) -> ipaddress.IPv4Network:
    try:
        prefix = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise _bad(
            f"{text!r} is not an IPv4 prefix ({exc})", "write it like 10.250.0.0/16"
        ) from None
    if not any(prefix.subnet_of(r) for r in PRIVATE_RANGES):
        raise _bad(
            f"{prefix} is not inside an RFC 1918 private range",
            f"use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, e.g. {DEFAULT_LAB_PREFIX}",
        )
    return prefix


def plan(prefix_text: str, slugs: list[str], hosts_per_municipality: int) -> NetPlan:
    """Allocate one /24 per municipality (the 2nd, 3rd, … of the prefix) and the service /32.

    The first /24 stays unused and the last one holds the service address, so the Nth
    municipality (1-based) gets the Nth /24: with 10.250.0.0/16 that is 10.250.N.0/24.
    """
    prefix = parse_prefix(prefix_text)
    if prefix.prefixlen > 23:
        raise _bad(f"{prefix} is too small: the lab needs whole /24s", "use a /16 to /22")
    subnets = list(prefix.subnets(new_prefix=24))
    if len(subnets) < len(slugs) + 2:
        raise _bad(
            f"{prefix} holds {len(subnets)} /24s; {len(slugs)} municipalities need {len(slugs) + 2}",
            "use a larger prefix, e.g. a /16",
        )
    last_host = 254 - FIRST_HOST_OCTET + 1
    if not 1 <= hosts_per_municipality <= last_host:
        raise InputError(
            [
                Problem(
                    "command line",
                    "--hosts-per-municipality",
                    f"{hosts_per_municipality} is out of range",
                    f"choose 1 to {last_host}",
                )
            ]
        )
    nets = tuple(
        MunicipalityNet(slug, bridge_name(i, slug), subnets[i]) for i, slug in enumerate(slugs, 1)
    )
    return NetPlan(prefix, subnets[-1].network_address + 1, nets)


def _is_labs_own(route: dict[str, Any]) -> bool:
    """A route an earlier lab made: it is removed before the new lab is built."""
    proto = str(route.get("protocol", ""))
    return proto == str(ROUTE_PROTO) or str(route.get("dev", "")).startswith(INTERFACE_PREFIX)


def _networks_in_routes(routes: list[dict[str, Any]]) -> list[tuple[ipaddress.IPv4Network, str]]:
    found = []
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("", "default") or _is_labs_own(route):
            continue
        try:
            net = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue  # IPv6 or a special entry
        table = route.get("table", "main")
        label = f"route {dst}" + (f" dev {route['dev']}" if "dev" in route else "")
        found.append((net, f"{label} (table {table})"))
    return found


def _networks_in_addrs(links: list[dict[str, Any]]) -> list[tuple[ipaddress.IPv4Network, str]]:
    found = []
    for link in links:
        if str(link.get("ifname", "")).startswith(INTERFACE_PREFIX):
            continue
        for info in link.get("addr_info", []):
            if info.get("family") != "inet":
                continue
            net = ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False)
            found.append((net, f"address {info['local']}/{info['prefixlen']} on {link['ifname']}"))
    return found


def overlaps(
    prefix: ipaddress.IPv4Network, routes: list[dict[str, Any]], links: list[dict[str, Any]]
) -> list[str]:
    """What on this machine already uses part of the prefix (`ip -j route` / `ip -j addr` data).

    The lab's own interfaces and routes are left out: `up` replaces an earlier lab anyway.
    """
    hits = []
    for net, label in _networks_in_routes(routes) + _networks_in_addrs(links):
        if net.overlaps(prefix):
            hits.append(label)
    return hits


def _ip_json(*args: str) -> list[dict[str, Any]]:
    done = run(["ip", "-j", *args], what=f"reading `ip {' '.join(args)}`")
    data = json.loads(done.stdout or "[]")
    return data if isinstance(data, list) else []


def check_free(prefix: ipaddress.IPv4Network) -> None:
    """Refuse a lab prefix that this machine already routes or holds addresses in."""
    hits = overlaps(prefix, _ip_json("route", "show", "table", "all"), _ip_json("addr", "show"))
    if hits:
        raise InputError(
            [
                Problem(
                    "command line",
                    _OPTION,
                    f"lab prefix {prefix} overlaps what this machine already uses: "
                    + "; ".join(hits),
                    f"pass {_OPTION} with a free private range (e.g. 10.251.0.0/16)",
                )
            ]
        )


def lab_interfaces() -> list[str]:
    """Bridges and dummies named like the lab's, present now (whatever created them)."""
    names = []
    for link in _ip_json("-d", "link", "show"):
        kind = link.get("linkinfo", {}).get("info_kind")
        name = str(link.get("ifname", ""))
        if name.startswith(INTERFACE_PREFIX) and kind in ("bridge", "dummy"):
            names.append(name)
    return names


def lab_routes() -> list[str]:
    """Destinations of routes the lab added (tagged with its protocol number)."""
    return [
        str(r["dst"])
        for r in _ip_json("route", "show", "table", "all", "proto", str(ROUTE_PROTO))
        if "dst" in r
    ]


def _disable_ipv6(ifname: str) -> None:
    # The lab is IPv4-only; no link-local v6 either, so there is no second path to think about.
    knob = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    try:
        with open(knob, "w") as f:
            f.write("1")
    except OSError:
        pass


def create(netplan: NetPlan) -> None:
    """Create the service address, a safety-net route for the prefix, and every bridge."""
    # Anything in the lab prefix that has no more specific route is unreachable: with a bridge
    # down (a cut) packets fail at once instead of following the default route off the machine.
    run(
        ["ip", "route", "replace", "unreachable", str(netplan.prefix), "proto", str(ROUTE_PROTO)],
        what="adding the lab's unreachable safety route",
    )
    # An empty bridge rather than a dummy: some kernels lack the dummy driver, and a
    # port-less bridge holds a local address just as well.
    run(
        ["ip", "link", "add", SERVICE_INTERFACE, "type", "bridge"],
        what=f"creating the lab service interface {SERVICE_INTERFACE}",
    )
    _disable_ipv6(SERVICE_INTERFACE)
    run(
        ["ip", "addr", "add", f"{netplan.service_ip}/32", "dev", SERVICE_INTERFACE],
        what="adding the lab service address",
    )
    run(["ip", "link", "set", SERVICE_INTERFACE, "up"], what="bringing up the service interface")
    for n in netplan.nets:
        run(["ip", "link", "add", n.bridge, "type", "bridge"], what=f"creating bridge {n.bridge}")
        _disable_ipv6(n.bridge)
        run(
            ["ip", "addr", "add", f"{n.gateway}/{n.subnet.prefixlen}", "dev", n.bridge],
            what=f"adding {n.gateway} to {n.bridge}",
        )
        run(["ip", "link", "set", n.bridge, "up"], what=f"bringing up {n.bridge}")


def destroy() -> None:
    """Delete every lab interface and route found on the machine."""
    for name in lab_interfaces():
        run(["ip", "link", "del", name], what=f"deleting {name}", check=False)
    for dst in lab_routes():
        run(
            ["ip", "route", "del", "unreachable", dst, "proto", str(ROUTE_PROTO)],
            what=f"deleting route {dst}",
            check=False,
        )


def set_link(bridge: str, up: bool) -> None:
    if bridge not in lab_interfaces():
        raise LabError(f"bridge {bridge} does not exist; is the lab up? (`ilag lab status`)")
    run(["ip", "link", "set", bridge, "up" if up else "down"], what=f"setting {bridge}")


def link_is_up(ifname: str) -> bool:
    """Administratively up (a cut sets it down)."""
    for link in _ip_json("link", "show", "dev", ifname):
        return "UP" in link.get("flags", [])
    return False
