"""Which site reaches which address and port in Azure, computed from the planned network.

Inbound NSG rules are evaluated as Azure does: by priority, the first match decides, and
Azure's default rules follow the declared ones: AllowVnetInBound (65000),
AllowAzureLoadBalancerInBound (65001), DenyAllInBound (65500)
(https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#default-security-rules).
The VirtualNetwork service tag "includes the virtual network address space (all IP address
ranges defined for the virtual network), all connected on-premises address spaces, peered
virtual networks, virtual networks connected to a virtual network gateway"
(https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags),
so every site behind the VPN gateway matches it. A site reaches a spoke only through the
hub's gateway: the hub side of the peering must allow gateway transit and the spoke side use
the remote gateway.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ilag_infra.azure.access.matrix import Cell
from ilag_infra.azure.plan import PlanResult
from ilag_infra.model.region import Region

DOC_DEFAULTS = (
    "https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview"
    "#default-security-rules"
)
DOC_TAGS = (
    "https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags"
)
DOC_PE_POLICIES = (
    "https://learn.microsoft.com/azure/private-link/disable-private-endpoint-network-policy"
)
DOC_TRANSIT = "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-peering-gateway-transit"
# Ports tried on each spoke's workloads: SSH, HTTPS, SMB, RDP.
SPOKE_PORTS = (("Tcp", 22), ("Tcp", 443), ("Tcp", 445), ("Tcp", 3389))
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "AllowVnetInBound (Azure default)",
        "priority": 65000,
        "access": "Allow",
        "protocol": "*",
        "sourceAddressPrefix": "VirtualNetwork",
        "destinationAddressPrefix": "VirtualNetwork",
        "destinationPortRange": "*",
    },
    {
        "name": "AllowAzureLoadBalancerInBound (Azure default)",
        "priority": 65001,
        "access": "Allow",
        "protocol": "*",
        "sourceAddressPrefix": "AzureLoadBalancer",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "*",
    },
    {
        "name": "DenyAllInBound (Azure default)",
        "priority": 65500,
        "access": "Deny",
        "protocol": "*",
        "sourceAddressPrefix": "*",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "*",
    },
)

Net = ipaddress.IPv4Network
# Hub subnets that hold no workload a site could reach: the VPN gateway's own.
SKIPPED_HUB_SUBNETS = ("GatewaySubnet", "AzureFirewallSubnet", "AzureBastionSubnet")


def _hub_name(subnet: str) -> str:
    return "hub-" + subnet.removeprefix("snet-")


@dataclass(frozen=True)
class Target:
    name: str  # e.g. spoke-sortland, dns, private-endpoints
    municipality: str  # owner slug or "shared"
    address: ipaddress.IPv4Address
    subnet: str  # the subnet's name, to find its NSG
    vnet: str
    ports: tuple[tuple[str, int], ...]
    # False for private endpoints while network policies are off: the NSG does not apply.
    filtered: bool = True


def _net(text: str) -> Net | None:
    try:
        return ipaddress.ip_network(text, strict=False)  # type: ignore[return-value]
    except ValueError:
        return None


def _list(rule: dict[str, Any], one: str, many: str) -> list[str]:
    values = rule.get(many)
    if values:
        return [str(v) for v in values]
    value = rule.get(one)
    return [str(value)] if value not in (None, "") else ["*"]


def _source_matches(prefix: Net, rule: dict[str, Any]) -> bool | None:
    """True if the whole site network matches, None if only part of it does."""
    if rule.get("sourceApplicationSecurityGroups") and not (
        rule.get("sourceAddressPrefix") or rule.get("sourceAddressPrefixes")
    ):
        # An application security group holds Azure NICs, never an on-premises network.
        return False
    partial = False
    for src in _list(rule, "sourceAddressPrefix", "sourceAddressPrefixes"):
        low = src.lower()
        if low in ("*", "any", "virtualnetwork"):
            return True
        net = _net(src)
        if net is None:
            continue  # Internet, AzureLoadBalancer and other tags: not a site behind the VPN
        if prefix.subnet_of(net):
            return True
        if prefix.overlaps(net):
            partial = True
    return None if partial else False


def _dest_matches(address: ipaddress.IPv4Address, rule: dict[str, Any]) -> bool | None:
    """True if the rule covers the address, None if it may (an application security group,
    whose members the plan does not know)."""
    if rule.get("destinationApplicationSecurityGroups") and not (
        rule.get("destinationAddressPrefix") or rule.get("destinationAddressPrefixes")
    ):
        return None
    for dst in _list(rule, "destinationAddressPrefix", "destinationAddressPrefixes"):
        if dst.lower() in ("*", "any", "virtualnetwork"):
            return True
        net = _net(dst)
        if net is not None and address in net:
            return True
    return False


def _port_matches(port: int, rule: dict[str, Any]) -> bool:
    for spec in _list(rule, "destinationPortRange", "destinationPortRanges"):
        if spec == "*":
            return True
        low, _, high = spec.partition("-")
        try:
            if int(low) <= port <= int(high or low):
                return True
        except ValueError:
            continue
    return False


def _proto_matches(proto: str, rule: dict[str, Any]) -> bool:
    return str(rule.get("protocol", "*")).lower() in ("*", proto.lower())


def decide(
    prefix: Net, target: Target, proto: str, port: int, nsg: tuple[str, list[dict[str, Any]]] | None
) -> tuple[bool, str]:
    """Whether traffic from the site network reaches the target, and the rule that says so."""
    if nsg is None:
        return True, f"no NSG on {target.subnet}: nothing filters it"
    if not target.filtered:
        return True, (
            f"{target.subnet} has private endpoint network policies off, so its NSG does not "
            f"apply to the private endpoints ({DOC_PE_POLICIES})"
        )
    nsg_name, declared = nsg
    rules = [r for r in declared if str(r.get("direction", "Inbound")).lower() == "inbound"]
    ordered = sorted(rules, key=lambda r: int(r.get("priority", 4096))) + list(DEFAULT_RULES)
    for rule in ordered:
        if not (_proto_matches(proto, rule) and _port_matches(port, rule)):
            continue
        dest = _dest_matches(target.address, rule)
        allow = str(rule.get("access", "")).lower() == "allow"
        # Unsure whether it applies: count an allow (more reach), never a deny (less).
        if dest is False or (dest is None and not allow):
            continue
        hit = _source_matches(prefix, rule)
        if hit is None and not allow:
            continue  # a deny that covers part of the network leaves the rest through
        if hit is None or hit:
            where = f"{nsg_name}/{rule.get('name')} (priority {rule.get('priority')})"
            doc = DOC_DEFAULTS if "Azure default" in str(rule.get("name")) else ""
            tag = (
                f"; the VirtualNetwork tag covers connected on-premises networks ({DOC_TAGS})"
                if "VirtualNetwork" in _list(rule, "sourceAddressPrefix", "sourceAddressPrefixes")
                else ""
            )
            verb = "admits" if allow else "denies"
            return allow, f"{where} {verb} {prefix} to {target.address}:{port}/{proto}{tag}" + (
                f" ({doc})" if doc else ""
            )
    return False, "no rule matched"


@dataclass
class Network:
    nsgs: dict[str, list[dict[str, Any]]]
    subnets: dict[tuple[str, str], dict[str, Any]]  # (vnet, subnet) -> inputs
    vnet_owner: dict[str, str]  # vnet name -> municipality slug or "shared"
    transit: dict[str, bool]  # spoke vnet -> a site can reach it through the hub gateway
    lgw_prefixes: list[Net]
    endpoint_subnets: set[str]  # subnets that hold a private endpoint


def _tail(value: Any) -> str:
    return str((value or {}).get("id", "")).rstrip("/").rsplit("/", 1)[-1]


def read_network(result: PlanResult) -> Network:
    nsgs: dict[str, list[dict[str, Any]]] = {}
    subnets: dict[tuple[str, str], dict[str, Any]] = {}
    owner: dict[str, str] = {}
    peerings: list[dict[str, Any]] = []
    lgw: list[Net] = []
    endpoints: set[str] = set()
    for res in result.resources:
        if not res.custom:
            continue
        kind = res.type.rsplit(":", 1)[-1]
        inputs = res.inputs
        if kind == "NetworkSecurityGroup":
            nsgs[str(inputs.get("networkSecurityGroupName", res.name))] = list(
                inputs.get("securityRules") or []
            )
        elif kind == "Subnet":
            subnets[(str(inputs.get("virtualNetworkName")), str(inputs.get("subnetName")))] = inputs
        elif kind == "VirtualNetwork":
            tags = inputs.get("tags") or {}
            owner[str(inputs.get("virtualNetworkName", res.name))] = str(
                tags.get("municipality", "shared")
            )
        elif kind == "VirtualNetworkPeering":
            peerings.append(inputs)
        elif kind == "PrivateEndpoint":
            endpoints.add(_tail(inputs.get("subnet")))
        elif kind == "LocalNetworkGateway":
            for p in (inputs.get("localNetworkAddressSpace") or {}).get("addressPrefixes") or []:
                net = _net(str(p))
                if net is not None:
                    lgw.append(net)
    transit: dict[str, bool] = {}
    for vnet, who in owner.items():
        if who == "shared":
            continue
        out = [p for p in peerings if str(p.get("virtualNetworkName")) == vnet]
        back = [p for p in peerings if _tail(p.get("remoteVirtualNetwork")) == vnet]
        transit[vnet] = any(p.get("useRemoteGateways") for p in out) and any(
            p.get("allowGatewayTransit") for p in back
        )
    # The stacks that hold the endpoints (identity, backup) put them in this subnet.
    declared = str(result.outputs.get("private_endpoint_subnet_id") or "")
    if declared:
        endpoints.add(declared.rstrip("/").rsplit("/", 1)[-1])
    return Network(nsgs, subnets, owner, transit, lgw, endpoints)


def _nsg_of(net: Network, vnet: str, subnet: str) -> tuple[str, list[dict[str, Any]]] | None:
    inputs = net.subnets.get((vnet, subnet)) or {}
    name = _tail(inputs.get("networkSecurityGroup"))
    return (name, net.nsgs.get(name, [])) if name else None


def targets(net: Network, result: PlanResult) -> list[Target]:
    out: list[Target] = []
    hub = next((v for v, o in net.vnet_owner.items() if o == "shared"), "")
    resolver = str(result.outputs.get("resolver_inbound_ip") or "")
    if hub and resolver:
        sub = next(
            (
                s
                for (v, s), i in net.subnets.items()
                if v == hub
                and (n := _net(str(i.get("addressPrefix", ""))))
                and ipaddress.ip_address(resolver) in n
            ),
            "",
        )
        out.append(
            Target(
                "dns",
                "shared",
                ipaddress.IPv4Address(resolver),
                sub,
                hub,
                (("Udp", 53), ("Tcp", 53)),
            )
        )
    for (vnet, subnet), inputs in sorted(net.subnets.items()):
        net_ = _net(str(inputs.get("addressPrefix", "")))
        if net_ is None:
            continue
        # Azure keeps the first four addresses of a subnet; .4 is the first a VM gets.
        first = net_[4]
        if vnet != hub:
            slug = net.vnet_owner.get(vnet, "shared")
            out.append(Target(f"spoke-{slug}", slug, first, subnet, vnet, SPOKE_PORTS))
        elif (
            subnet in net.endpoint_subnets
            or inputs.get("privateEndpointNetworkPolicies") == "Enabled"
        ):
            filtered = inputs.get("privateEndpointNetworkPolicies") == "Enabled"
            ports = (("Tcp", 443), ("Tcp", 445))
            out.append(Target("private-endpoints", "shared", first, subnet, vnet, ports, filtered))
        elif subnet not in SKIPPED_HUB_SUBNETS and not inputs.get("delegations"):
            # Not the gateway's own, nor a subnet a service owns (the DNS resolver's).
            out.append(Target(_hub_name(subnet), "shared", first, subnet, vnet, SPOKE_PORTS))
    return out


def compute(region: Region, result: PlanResult) -> list[Cell]:
    """Rows {site:<slug>:<site>, target municipality, reach:<destination>:<port>}."""
    net = read_network(result)
    cells: list[Cell] = []
    for m in region.municipalities:
        for site in m.sites:
            who = f"site:{m.slug}:{site.name}"
            prefixes = [_net(str(n.prefix)) for n in site.networks]
            nets = [p for p in prefixes if p is not None]
            connected = any(any(p.subnet_of(g) for g in net.lgw_prefixes) for p in nets)
            for target in targets(net, result):
                for proto, port in target.ports:
                    cap = f"reach:{target.name}:{port}" + ("/udp" if proto == "Udp" else "")
                    if not connected:
                        cells.append(
                            Cell(
                                who,
                                target.municipality,
                                cap,
                                False,
                                "no VPN link declared for this site",
                            )
                        )
                        continue
                    if target.vnet in net.transit and not net.transit[target.vnet]:
                        cells.append(
                            Cell(
                                who,
                                target.municipality,
                                cap,
                                False,
                                f"no gateway transit to {target.vnet} ({DOC_TRANSIT})",
                            )
                        )
                        continue
                    nsg = _nsg_of(net, target.vnet, target.subnet)
                    results = [decide(p, target, proto, port, nsg) for p in nets]
                    allowed = [r for r in results if r[0]]
                    # A site reaches the target if any of its networks does.
                    chosen = allowed[0] if allowed else results[0]
                    cells.append(Cell(who, target.municipality, cap, chosen[0], chosen[1]))
    return cells


def intended(cell: Cell, region: Region) -> bool:
    """From region.yaml: a site reaches its own spoke and the shared DNS and private endpoints
    (HTTPS); a site with a management network reaches the hub's shared services on SSH;
    nothing else."""
    _, slug, site_name = cell.identity.split(":")
    dest, port = cell.capability.split(":")[1:3]
    if dest.startswith("spoke-"):
        return dest == f"spoke-{slug}"
    if dest.startswith("hub-"):
        site = next(
            (
                s
                for m in region.municipalities
                if m.slug == slug
                for s in m.sites
                if s.name == site_name
            ),
            None,
        )
        return port == "22" and site is not None and any(n.management for n in site.networks)
    if dest == "dns":
        return True
    if dest == "private-endpoints":
        return port == "443"
    return False
