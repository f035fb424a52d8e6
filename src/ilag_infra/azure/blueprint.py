"""The one place where region.yaml becomes the inputs of the Azure building blocks.

Components never read region.yaml themselves: they take the plain dataclasses built here,
so a sixth municipality in region.yaml changes the stacks without any code change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ilag_infra.model import naming
from ilag_infra.model.region import LoadedRegion, Region

RESOLVER_DELEGATION = "Microsoft.Network/dnsResolvers"


@dataclass(frozen=True)
class Context:
    """What every component needs to name, place and tag its resources."""

    region: Region
    names: naming.Names
    environment: str
    location: str
    cost_key: str

    def tags(self, service: str, owner: str = naming.SHARED) -> dict[str, str]:
        return naming.tags(owner, service, self.environment, self.cost_key)


def context(loaded: LoadedRegion, environment: str) -> Context:
    r = loaded.model
    key = r.cost_key
    cost_key = key.method if key.equal_share is None else f"{key.method}-{key.equal_share:.2f}"
    names = naming.Names(r.region.name, environment, r.region.location)
    return Context(r, names, environment, r.region.location, cost_key)


@dataclass(frozen=True)
class NsgRule:
    name: str
    priority: int
    access: str  # Allow | Deny
    protocol: str  # Tcp | Udp | *
    sources: tuple[str, ...]
    ports: tuple[str, ...]


@dataclass(frozen=True)
class SubnetSpec:
    key: str  # the region.yaml name: gateway, shared_services, ...
    name: str  # the Azure name
    prefix: str
    nsg_rules: tuple[NsgRule, ...] | None  # None: no NSG (only the GatewaySubnet)
    delegation: str | None = None
    private_endpoints: bool = False
    # VMs live here and need internet egress (package updates): with ilag:egress nat-gateway
    # the VNet's NAT gateway is attached. Gateway, resolver and endpoint subnets hold no VMs.
    egress: bool = False


@dataclass(frozen=True)
class SiteSpec:
    slug: str
    site: str
    endpoint: str
    endpoint_is_ip: bool
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class SpokeSpec:
    slug: str
    prefix: str
    workload_prefix: str
    # The NSG of the workload subnet: the municipality's own sites only (spoke_nsg_rules).
    nsg_rules: tuple[NsgRule, ...] = ()


def _is_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def site_networks(r: Region) -> list[str]:
    return [str(p) for m in r.municipalities for p in m.networks]


def management_sources(r: Region) -> list[str]:
    regional = [str(p) for p in r.region.management_networks]
    local = [str(p) for m in r.municipalities for p in m.management_networks]
    return regional + local


# Every NSG ends the same way. Azure's default AllowVNetInBound (65000) admits the
# VirtualNetwork service tag, which is "the virtual network address space (all IP address
# ranges defined for the virtual network), all connected on-premises address spaces, peered
# virtual networks, or virtual network connected to a virtual network gateway"
# (https://learn.microsoft.com/azure/virtual-network/service-tags-overview#available-service-tags):
# every site of every municipality behind the VPN gateway. So each NSG admits what it names and
# then denies all inbound at 4096 (the last priority Azure takes, evaluated before the defaults
# at 65000+). Azure's load balancer probes stay allowed explicitly, as AllowAzureLoadBalancerInBound
# (65001) would otherwise never be reached.
DENY_INTERNET = NsgRule("deny-internet-in", 4000, "Deny", "*", ("Internet",), ("*",))
ALLOW_LOAD_BALANCER = NsgRule(
    "allow-azure-load-balancer-in", 4090, "Allow", "*", ("AzureLoadBalancer",), ("*",)
)
DENY_ALL = NsgRule("deny-all-in", 4096, "Deny", "*", ("*",), ("*",))
CLOSING_RULES = (DENY_INTERNET, ALLOW_LOAD_BALANCER, DENY_ALL)


def spoke_prefixes(r: Region) -> list[str]:
    return [str(m.spoke_prefix) for m in r.municipalities if m.spoke_prefix is not None]


def hub_subnets(r: Region) -> list[SubnetSpec]:
    """The hub's subnets with their NSG rules; the platform's traffic rules live here.

    The shared services every site uses (DNS on the resolver, HTTPS on the private endpoints)
    admit all sites, the spokes and the hub; everything else is closed (CLOSING_RULES)."""
    s = r.region.hub.subnets
    clients = (*site_networks(r), *spoke_prefixes(r), str(r.region.hub.address_space))
    mgmt = tuple(management_sources(r))
    return [
        # Azure manages the GatewaySubnet itself; an NSG there can break the gateway.
        SubnetSpec("gateway", "GatewaySubnet", str(s.gateway), None),
        SubnetSpec(
            "shared_services",
            "snet-shared-services",
            str(s.shared_services),
            (
                NsgRule("allow-ssh-management", 100, "Allow", "Tcp", mgmt, ("22",)),
                NsgRule("deny-ssh-other", 200, "Deny", "Tcp", ("*",), ("22",)),
                # The shared VMs (jump hosts among them) talk to each other; no site does.
                NsgRule(
                    "allow-shared-services-in", 300, "Allow", "*", (str(s.shared_services),), ("*",)
                ),
                *CLOSING_RULES,
            ),
            egress=True,
        ),
        SubnetSpec(
            "private_endpoints",
            "snet-private-endpoints",
            str(s.private_endpoints),
            (
                NsgRule("allow-https-sites-spokes-hub", 100, "Allow", "Tcp", clients, ("443",)),
                *CLOSING_RULES,
            ),
            private_endpoints=True,
        ),
        SubnetSpec(
            "dns_inbound",
            "snet-dns-inbound",
            str(s.dns_inbound),
            (
                NsgRule("allow-dns-tcp", 100, "Allow", "Tcp", clients, ("53",)),
                NsgRule("allow-dns-udp", 110, "Allow", "Udp", clients, ("53",)),
                *CLOSING_RULES,
            ),
            delegation=RESOLVER_DELEGATION,
        ),
        # region.yaml's dns_outbound range stays reserved but is not declared: without
        # municipal DNS zones and servers there is nothing for an outbound endpoint to forward.
    ]


def sites(r: Region) -> list[SiteSpec]:
    """One entry per municipality site: a local network gateway and a connection each."""
    return [
        SiteSpec(
            m.slug,
            site.name,
            site.vpn_endpoint,
            _is_ip(site.vpn_endpoint),
            tuple(str(n.prefix) for n in site.networks),
        )
        for m in r.municipalities
        for site in m.sites
    ]


def spoke_nsg_rules(
    own_sites: tuple[str, ...], spoke_prefix: str, regional_mgmt: tuple[str, ...]
) -> tuple[NsgRule, ...]:
    """A spoke's workload NSG: its own municipality's sites on any port, its own VMs, SSH
    from the regional operators' management networks in the hub; nothing else. A
    municipality's own management networks are among its sites; another's are not."""
    rules = [
        NsgRule("allow-own-sites-in", 100, "Allow", "*", own_sites, ("*",)),
        NsgRule("allow-own-spoke-in", 110, "Allow", "*", (spoke_prefix,), ("*",)),
    ]
    if regional_mgmt:
        rules.append(
            NsgRule("allow-ssh-regional-management", 120, "Allow", "Tcp", regional_mgmt, ("22",))
        )
    return (*rules, *CLOSING_RULES)


def spokes(r: Region) -> list[SpokeSpec]:
    out = []
    regional_mgmt = tuple(str(p) for p in r.region.management_networks)
    for m in r.municipalities:
        if m.spoke_prefix is None:
            continue
        # The first /24 (or the whole prefix if smaller) holds workloads; the rest is room.
        first = next(m.spoke_prefix.subnets(new_prefix=max(24, m.spoke_prefix.prefixlen)))
        own = tuple(str(p) for p in m.networks)
        rules = spoke_nsg_rules(own, str(m.spoke_prefix), regional_mgmt)
        out.append(SpokeSpec(m.slug, str(m.spoke_prefix), str(first), rules))
    return out


def hub_prefixes(r: Region) -> list[str]:
    """Every Azure-side prefix the sites route into the tunnel: the hub and the spokes."""
    return [str(r.region.hub.address_space), *spoke_prefixes(r)]


def containers(r: Region) -> dict[str, str]:
    return {m.slug: naming.container_name(m.slug) for m in r.municipalities}


def site_names(r: Region) -> dict[str, list[str]]:
    return {m.slug: [s.name for s in m.sites] for m in r.municipalities}
