"""The network stack: hub VNet, zone-redundant VPN gateway, one site link per site, private DNS."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import dnsresolver, network, privatedns, resources

from ilag_infra.azure import vpn_skus

# The tags that record each VNet's egress decision where the plan (and the rule
# azure-subnet-egress) can see it; ARM subnets carry no tags, so the VNet holds them.
from ilag_infra.azure.azure_rules import EGRESS_NONE_SUBNETS_TAG, EGRESS_TAG
from ilag_infra.azure.blueprint import Context, NsgRule, SiteSpec, SpokeSpec, SubnetSpec
from ilag_infra.azure.monitoring import watch_network
from ilag_infra.azure.settings import EGRESS_NAT_GATEWAY, NetworkSettings
from ilag_infra.model import naming
from ilag_infra.model.stack_outputs import NetworkOutput


def ipsec_policy() -> network.IpsecPolicyArgs:
    """One IPsec/IKE policy for every site.

    An explicit policy stops Azure from negotiating down to its broad defaults; on-site
    firewalls are configured to exactly these values (see docs/operators.md).
    """
    return network.IpsecPolicyArgs(
        ike_encryption="AES256",
        ike_integrity="SHA256",
        dh_group="DHGroup14",
        ipsec_encryption="GCMAES256",
        ipsec_integrity="GCMAES256",
        pfs_group="PFS2048",
        sa_life_time_seconds=27000,
        sa_data_size_kilobytes=102400000,
    )


def _child(parent: pulumi.Resource, **extra: object) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **extra)  # type: ignore[arg-type]


def _nsg_rules(rules: tuple[NsgRule, ...]) -> list[network.SecurityRuleArgs]:
    return [
        network.SecurityRuleArgs(
            name=rule.name,
            priority=rule.priority,
            direction="Inbound",
            access=rule.access,
            protocol=rule.protocol,
            source_port_range="*",
            destination_address_prefix="*",
            source_address_prefix=rule.sources[0] if len(rule.sources) == 1 else None,
            source_address_prefixes=list(rule.sources) if len(rule.sources) > 1 else None,
            destination_port_range=rule.ports[0] if len(rule.ports) == 1 else None,
            destination_port_ranges=list(rule.ports) if len(rule.ports) > 1 else None,
        )
        for rule in rules
    ]


def _egress_tags(egress: str, no_egress: list[str]) -> dict[str, str]:
    tags = {EGRESS_TAG: egress}
    if egress == EGRESS_NAT_GATEWAY and no_egress:
        tags[EGRESS_NONE_SUBNETS_TAG] = " ".join(no_egress)
    return tags


def _nat_gateway(
    ctx: Context,
    resource_group_name: pulumi.Input[str],
    workload: str,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> network.NatGateway:
    """One NAT gateway with one Standard public IP for one VNet: "A NAT gateway can't be
    attached to subnets from different virtual networks"
    (https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource#subnets).

    No zone: Azure picks one, and "Zone redundant public IP addresses can be used with no zone
    NAT gateway resources" (same page, #availability-zones)."""
    names = ctx.names
    pip = network.PublicIPAddress(
        names.nat_gateway_public_ip(workload),
        public_ip_address_name=names.nat_gateway_public_ip(workload),
        resource_group_name=resource_group_name,
        location=ctx.location,
        sku={"name": "Standard", "tier": "Regional"},
        public_ip_allocation_method="Static",
        public_ip_address_version="IPv4",
        zones=["1", "2", "3"],
        tags=tags,
        opts=_child(parent),
    )
    return network.NatGateway(
        names.nat_gateway(workload),
        nat_gateway_name=names.nat_gateway(workload),
        resource_group_name=resource_group_name,
        location=ctx.location,
        sku={"name": "Standard"},
        public_ip_addresses=[{"id": pip.id}],
        idle_timeout_in_minutes=4,
        tags=tags,
        opts=_child(parent),
    )


@dataclass(frozen=True)
class HubArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    address_space: str
    subnets: list[SubnetSpec]
    egress: str = EGRESS_NAT_GATEWAY


class Hub(pulumi.ComponentResource):
    """The hub VNet and its subnets; every subnet except GatewaySubnet gets its own NSG, and
    the subnets that hold VMs get the hub's NAT gateway when ilag:egress is nat-gateway."""

    vnet: network.VirtualNetwork
    subnet_ids: dict[str, pulumi.Output[str]]
    nat_gateway: network.NatGateway | None

    def __init__(self, name: str, args: HubArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:network:Hub", name, None, opts)
        ctx, names = args.ctx, args.ctx.names
        nat = args.egress == EGRESS_NAT_GATEWAY
        no_egress = [spec.name for spec in args.subnets if not (nat and spec.egress)]
        # Subnets are separate resources and the VNet leaves `subnets` out: the provider then
        # keeps existing subnets on VNet updates instead of replacing the list.
        self.vnet = network.VirtualNetwork(
            names.vnet("hub"),
            virtual_network_name=names.vnet("hub"),
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            address_space={"address_prefixes": [args.address_space]},
            tags={**ctx.tags("network"), **_egress_tags(args.egress, no_egress)},
            opts=_child(self),
        )
        self.nat_gateway = (
            _nat_gateway(ctx, args.resource_group_name, "hub", ctx.tags("network"), self)
            if nat and any(spec.egress for spec in args.subnets)
            else None
        )
        self.subnet_ids = {}
        previous: pulumi.Resource | None = None
        for spec in args.subnets:
            nsg_ref: network.NetworkSecurityGroupArgs | None = None
            if spec.nsg_rules is not None:
                nsg = network.NetworkSecurityGroup(
                    names.nsg(spec.key.replace("_", "-")),
                    network_security_group_name=names.nsg(spec.key.replace("_", "-")),
                    resource_group_name=args.resource_group_name,
                    location=ctx.location,
                    security_rules=_nsg_rules(spec.nsg_rules),
                    tags=ctx.tags("network"),
                    opts=_child(self),
                )
                nsg_ref = network.NetworkSecurityGroupArgs(id=nsg.id)
            delegations = (
                [network.DelegationArgs(name="dns-resolver", service_name=spec.delegation)]
                if spec.delegation
                else None
            )
            # ARM rejects concurrent writes to subnets of one VNet (AnotherOperationInProgress),
            # so each subnet waits for the one before it.
            subnet = network.Subnet(
                f"{names.vnet('hub')}-{spec.name}",
                subnet_name=spec.name,
                virtual_network_name=self.vnet.name,
                resource_group_name=args.resource_group_name,
                address_prefix=spec.prefix,
                network_security_group=nsg_ref,
                delegations=delegations,
                private_endpoint_network_policies="Enabled" if spec.private_endpoints else None,
                # No implicit outbound IP: VMs reach the internet through the NAT gateway, or
                # not at all (ilag:egress none; docs/operators.md, "Egress").
                default_outbound_access=False,
                nat_gateway=(
                    network.SubResourceArgs(id=self.nat_gateway.id)
                    if self.nat_gateway is not None and spec.egress
                    else None
                ),
                opts=_child(self, depends_on=[previous] if previous else []),
            )
            previous = subnet
            self.subnet_ids[spec.key] = subnet.id
        self.register_outputs({"vnet_id": self.vnet.id, "subnet_ids": self.subnet_ids})


@dataclass(frozen=True)
class VpnGatewayArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    gateway_subnet_id: pulumi.Input[str]
    sku: str


class VpnGateway(pulumi.ComponentResource):
    """A route-based, zone-redundant (AZ SKU) VPN gateway with its public IP; the generation
    follows the SKU (VpnGw1AZ exists only in Generation1, VpnGw4AZ/5AZ only in Generation2)."""

    gateway: network.VirtualNetworkGateway
    public_ip: network.PublicIPAddress

    def __init__(self, name: str, args: VpnGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:network:VpnGateway", name, None, opts)
        ctx, names = args.ctx, args.ctx.names
        # AZ gateway SKUs require a Standard, static, zone-redundant public IP.
        self.public_ip = network.PublicIPAddress(
            names.vpn_gateway_public_ip(),
            public_ip_address_name=names.vpn_gateway_public_ip(),
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            sku={"name": "Standard", "tier": "Regional"},
            public_ip_allocation_method="Static",
            public_ip_address_version="IPv4",
            zones=["1", "2", "3"],
            tags=ctx.tags("network"),
            opts=_child(self),
        )
        self.gateway = network.VirtualNetworkGateway(
            names.vpn_gateway(),
            virtual_network_gateway_name=names.vpn_gateway(),
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            gateway_type="Vpn",
            vpn_type="RouteBased",
            vpn_gateway_generation=vpn_skus.SKUS[args.sku].generation,
            sku={"name": args.sku, "tier": args.sku},
            active_active=False,
            enable_bgp=False,
            ip_configurations=[
                {
                    "name": "default",
                    "private_ip_allocation_method": "Dynamic",
                    "public_ip_address": {"id": self.public_ip.id},
                    "subnet": {"id": args.gateway_subnet_id},
                }
            ],
            tags=ctx.tags("network"),
            # Creating a VPN gateway takes 30-45 minutes; the default timeout is too short.
            opts=_child(self, custom_timeouts=pulumi.CustomTimeouts(create="90m", update="90m")),
        )
        self.register_outputs({"public_ip": self.public_ip.ip_address})


@dataclass(frozen=True)
class SiteLinkArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    gateway_id: pulumi.Input[str]
    site: SiteSpec
    shared_key: pulumi.Output[str]


class SiteLink(pulumi.ComponentResource):
    """One municipality site: its local network gateway and its IKEv2 connection to the hub."""

    connection: network.VirtualNetworkGatewayConnection

    def __init__(self, name: str, args: SiteLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:network:SiteLink", name, None, opts)
        ctx, names, site = args.ctx, args.ctx.names, args.site
        tags = ctx.tags("network", owner=site.slug)
        lgw = network.LocalNetworkGateway(
            names.local_gateway(site.slug, site.site),
            local_network_gateway_name=names.local_gateway(site.slug, site.site),
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            local_network_address_space={"address_prefixes": list(site.prefixes)},
            tags=tags,
            # A site behind a dynamic address publishes an FQDN; Azure re-resolves it.
            gateway_ip_address=site.endpoint if site.endpoint_is_ip else None,
            fqdn=None if site.endpoint_is_ip else site.endpoint,
            opts=_child(self),
        )
        self.connection = network.VirtualNetworkGatewayConnection(
            names.connection(site.slug, site.site),
            virtual_network_gateway_connection_name=names.connection(site.slug, site.site),
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            connection_type="IPsec",
            connection_protocol="IKEv2",
            virtual_network_gateway1={"id": args.gateway_id},
            local_network_gateway2={"id": lgw.id},
            shared_key=args.shared_key,  # a secret Output from settings
            enable_bgp=False,
            use_policy_based_traffic_selectors=False,
            dpd_timeout_seconds=45,
            ipsec_policies=[ipsec_policy()],
            tags=tags,
            opts=_child(self),
        )
        self.register_outputs({"connection_name": self.connection.name})


@dataclass(frozen=True)
class PrivateDnsArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    zones: list[str]
    # slug → spoke VNet id: every spoke is linked to every zone too.
    spoke_vnet_ids: dict[str, pulumi.Input[str]] = field(default_factory=dict)


class PrivateDns(pulumi.ComponentResource):
    """Private DNS zones (the internal domain and Private Link zones) linked to the hub and to
    every spoke.

    Spoke VMs use Azure-provided DNS and resolve the zones through their own links, as
    Microsoft's hub-and-spoke guidance says: "link the same private DNS zones to all spokes and
    hub virtual networks that contain clients that need DNS resolution from the zones"
    (https://learn.microsoft.com/azure/private-link/private-endpoint-dns-integration).
    The alternative, custom DNS servers on the spokes pointing at the resolver's inbound IP,
    would make every spoke lookup depend on the resolver and on the hub's DNS NSG; links cost
    nothing of that. Only the hub registers its VMs (in the internal zone); spoke links do not.
    """

    zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PrivateDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:network:PrivateDns", name, None, opts)
        ctx = args.ctx
        self.zone_ids = {}
        for zone_name in args.zones:
            # Private DNS zones are global resources: Azure accepts only location "global".
            zone = privatedns.PrivateZone(
                zone_name,
                private_zone_name=zone_name,
                resource_group_name=args.resource_group_name,
                location="global",
                tags=ctx.tags("dns"),
                opts=_child(self),
            )
            links: list[tuple[str, pulumi.Input[str], bool]] = [
                # Only the internal zone takes automatic registration of hub VMs.
                ("hub", args.vnet_id, not zone_name.startswith("privatelink.")),
                *((slug, vnet_id, False) for slug, vnet_id in args.spoke_vnet_ids.items()),
            ]
            for owner, vnet_id, registration in links:
                link_name = ctx.names.dns_link(owner)
                privatedns.VirtualNetworkLink(
                    f"{zone_name}-{link_name}",
                    virtual_network_link_name=link_name,
                    private_zone_name=zone.name,
                    resource_group_name=args.resource_group_name,
                    location="global",
                    virtual_network={"id": vnet_id},
                    registration_enabled=registration,
                    tags=ctx.tags("dns", owner=naming.SHARED if owner == "hub" else owner),
                    opts=_child(self),
                )
            self.zone_ids[zone_name] = zone.id
        self.register_outputs({"zone_ids": self.zone_ids})


@dataclass(frozen=True)
class ResolverArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    inbound_subnet_id: pulumi.Input[str]
    inbound_ip: str


class Resolver(pulumi.ComponentResource):
    """DNS private resolver: on-site DNS servers forward the internal and Private Link zones
    to its inbound endpoint, which answers from the zones linked to the hub.

    There is no outbound endpoint: it only does something with a forwarding ruleset, and a
    ruleset needs each municipality's own DNS zones and on-site DNS servers, which region.yaml
    does not carry (docs/operators.md, "DNS").
    """

    inbound_ip: pulumi.Output[str]

    def __init__(self, name: str, args: ResolverArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:network:Resolver", name, None, opts)
        ctx, names = args.ctx, args.ctx.names
        resolver = dnsresolver.DnsResolver(
            names.dns_resolver(),
            dns_resolver_name=names.dns_resolver(),
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            virtual_network={"id": args.vnet_id},
            tags=ctx.tags("dns"),
            opts=_child(self),
        )
        inbound = dnsresolver.InboundEndpoint(
            f"{names.dns_resolver()}-inbound",
            inbound_endpoint_name=names.dns_resolver_endpoint("inbound"),
            dns_resolver_name=resolver.name,
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            # A static address: on-site forwarders are configured with it once.
            ip_configurations=[
                {
                    "subnet": {"id": args.inbound_subnet_id},
                    "private_ip_allocation_method": "Static",
                    "private_ip_address": args.inbound_ip,
                }
            ],
            tags=ctx.tags("dns"),
            opts=_child(self),
        )
        self.inbound_ip = inbound.ip_configurations.apply(
            lambda cfgs: str(cfgs[0].private_ip_address) if cfgs else args.inbound_ip
        )
        self.register_outputs({"inbound_ip": self.inbound_ip})


@dataclass(frozen=True)
class SpokeArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    hub_vnet: network.VirtualNetwork
    spoke: SpokeSpec
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    egress: str = EGRESS_NAT_GATEWAY


class Spoke(pulumi.ComponentResource):
    """A municipality's spoke VNet, peered with the hub and using its VPN gateway; its
    workload NSG admits only that municipality's sites (blueprint.spoke_nsg_rules)."""

    vnet: network.VirtualNetwork

    def __init__(self, name: str, args: SpokeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:network:Spoke", name, None, opts)
        ctx, names, spoke = args.ctx, args.ctx.names, args.spoke
        tags = ctx.tags("network", owner=spoke.slug)
        vnet_name = names.vnet(spoke.slug)
        self.vnet = vnet = network.VirtualNetwork(
            vnet_name,
            virtual_network_name=vnet_name,
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            address_space={"address_prefixes": [spoke.prefix]},
            tags={**tags, **_egress_tags(args.egress, [])},
            opts=_child(self),
        )
        nat = (
            _nat_gateway(ctx, args.resource_group_name, spoke.slug, tags, self)
            if args.egress == EGRESS_NAT_GATEWAY
            else None
        )
        nsg = network.NetworkSecurityGroup(
            names.nsg(f"{spoke.slug}-workloads"),
            network_security_group_name=names.nsg(f"{spoke.slug}-workloads"),
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            security_rules=_nsg_rules(spoke.nsg_rules),
            tags=tags,
            opts=_child(self),
        )
        network.Subnet(
            f"{vnet_name}-snet-workloads",
            subnet_name="snet-workloads",
            virtual_network_name=vnet.name,
            resource_group_name=args.resource_group_name,
            address_prefix=spoke.workload_prefix,
            network_security_group={"id": nsg.id},
            default_outbound_access=False,
            nat_gateway=network.SubResourceArgs(id=nat.id) if nat is not None else None,
            opts=_child(self),
        )
        # The hub side offers its gateway; the spoke side uses it. use_remote_gateways fails
        # while the gateway is still being built, hence the explicit dependency.
        hub_side = network.VirtualNetworkPeering(
            names.peering("hub", spoke.slug),
            virtual_network_peering_name=names.peering("hub", spoke.slug),
            virtual_network_name=args.hub_vnet.name,
            resource_group_name=args.resource_group_name,
            remote_virtual_network={"id": vnet.id},
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=True,
            opts=_child(self, depends_on=args.depends_on),
        )
        network.VirtualNetworkPeering(
            names.peering(spoke.slug, "hub"),
            virtual_network_peering_name=names.peering(spoke.slug, "hub"),
            virtual_network_name=vnet.name,
            resource_group_name=args.resource_group_name,
            remote_virtual_network={"id": args.hub_vnet.id},
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            use_remote_gateways=True,
            # Azure refuses this side until the hub side offers its gateway: "Peering-to-Gateway
            # cannot have UseRemoteGateways flag set to true, because corresponding remote
            # peering has AllowGatewayTransit flag set to false". Nothing else orders the two
            # (azure_rules: azure-peering-gateway-transit-order).
            opts=_child(self, depends_on=[*args.depends_on, hub_side]),
        )
        self.register_outputs({"vnet_id": vnet.id})


def declare(
    ctx: Context,
    settings: NetworkSettings,
    subnets: list[SubnetSpec],
    sites: list[SiteSpec],
    spokes: list[SpokeSpec],
    hub_prefixes: list[str],
) -> dict[str, object]:
    """Declare the network stack's resources and return its outputs."""
    names = ctx.names
    r = ctx.region.region
    rg = resources.ResourceGroup(
        names.resource_group("network"),
        resource_group_name=names.resource_group("network"),
        location=ctx.location,
        tags=ctx.tags("network"),
    )
    hub = Hub("hub", HubArgs(ctx, rg.name, str(r.hub.address_space), subnets, settings.egress))
    gateway = VpnGateway(
        "vpn", VpnGatewayArgs(ctx, rg.name, hub.subnet_ids["gateway"], settings.gateway_sku)
    )
    connection_names: dict[str, object] = {}
    by_slug: dict[str, list[pulumi.Output[str]]] = {}
    for site in sites:
        link = SiteLink(
            f"{site.slug}-{site.site}",
            SiteLinkArgs(
                ctx, rg.name, gateway.gateway.id, site, settings.shared_keys[(site.slug, site.site)]
            ),
        )
        by_slug.setdefault(site.slug, []).append(link.connection.name)
    for slug, conns in by_slug.items():
        # One string per municipality as the interface promises; several sites are joined.
        connection_names[slug] = pulumi.Output.all(*conns).apply(lambda n: ",".join(n))
    spoke_vnet_ids: dict[str, pulumi.Input[str]] = {}
    for spoke in spokes:
        declared = Spoke(
            f"spoke-{spoke.slug}",
            SpokeArgs(
                ctx, rg.name, hub.vnet, spoke, depends_on=[gateway.gateway], egress=settings.egress
            ),
        )
        spoke_vnet_ids[spoke.slug] = declared.vnet.id
    zones = [r.dns_domain, naming.PRIVATELINK_BLOB_ZONE, naming.PRIVATELINK_VAULT_ZONE]
    dns = PrivateDns("dns", PrivateDnsArgs(ctx, rg.name, hub.vnet.id, zones, spoke_vnet_ids))
    resolver = Resolver(
        "resolver",
        ResolverArgs(
            ctx,
            rg.name,
            hub.vnet.id,
            hub.subnet_ids["dns_inbound"],
            settings.resolver_inbound_ip,
        ),
    )
    # The environment's workspace and action group; identity and backup use them too.
    watch = watch_network(ctx, settings, rg.name, rg.id, gateway.gateway.id)
    return {
        NetworkOutput.GATEWAY_PUBLIC_IP: gateway.public_ip.ip_address,
        NetworkOutput.HUB_PREFIXES: hub_prefixes,
        NetworkOutput.RESOLVER_INBOUND_IP: resolver.inbound_ip,
        NetworkOutput.CONNECTION_NAMES: connection_names,
        NetworkOutput.DNS_DOMAIN: r.dns_domain,
        # Read by the identity and backup stacks through StackReference.
        NetworkOutput.RESOURCE_GROUP_NAME: rg.name,
        NetworkOutput.RESOURCE_GROUP_ID: rg.id,
        NetworkOutput.HUB_VNET_ID: hub.vnet.id,
        NetworkOutput.PRIVATE_ENDPOINT_SUBNET_ID: hub.subnet_ids["private_endpoints"],
        NetworkOutput.PRIVATE_DNS_ZONE_IDS: dns.zone_ids,
        NetworkOutput.LOG_ANALYTICS_WORKSPACE_ID: watch.workspace.id,
        NetworkOutput.ACTION_GROUP_ID: watch.action_group.id,
    }
