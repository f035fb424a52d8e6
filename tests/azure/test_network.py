"""What an Azure network engineer checks in the network stack."""

from __future__ import annotations

import ipaddress
from itertools import combinations

from ilag_infra.azure import plan
from ilag_infra.model.region import load

from .conftest import REPO, of_type

REGION = load(REPO / "region.yaml").model


def test_one_local_gateway_per_site_with_its_prefixes(plans: dict[str, plan.PlanResult]) -> None:
    lgws = {
        r.inputs["localNetworkGatewayName"]: r
        for r in of_type(plans["network"], ":LocalNetworkGateway")
    }
    expected = {(m.slug, s.name): s for m in REGION.municipalities for s in m.sites}
    assert len(lgws) == len(expected) == 7
    for (slug, site_name), site in expected.items():
        lgw = lgws[f"lgw-{slug}-{site_name}-prod-noe"]
        prefixes = lgw.inputs["localNetworkAddressSpace"]["addressPrefixes"]
        assert prefixes == [str(n.prefix) for n in site.networks]
        if site.vpn_endpoint[0].isdigit():
            assert lgw.inputs["gatewayIpAddress"] == site.vpn_endpoint
            assert "fqdn" not in lgw.inputs
        else:
            assert lgw.inputs["fqdn"] == site.vpn_endpoint
            assert "gatewayIpAddress" not in lgw.inputs
        assert lgw.inputs["tags"]["municipality"] == slug


def test_one_ikev2_connection_per_site_with_explicit_policy_and_secret_key(
    plans: dict[str, plan.PlanResult],
) -> None:
    conns = of_type(plans["network"], ":VirtualNetworkGatewayConnection")
    assert len(conns) == 7
    lgw_urns = {r.urn for r in of_type(plans["network"], ":LocalNetworkGateway")}
    for c in conns:
        assert c.inputs["connectionType"] == "IPsec"
        assert c.inputs["connectionProtocol"] == "IKEv2"
        assert c.inputs["sharedKey"] == plan.SECRET
        [policy] = c.inputs["ipsecPolicies"]
        assert policy["ikeEncryption"] == "AES256" and policy["dhGroup"] == "DHGroup14"
        assert policy["ipsecEncryption"] == "GCMAES256" and policy["pfsGroup"] == "PFS2048"
        # Each connection points at its own site's gateway.
        own = [d for d in c.dependencies if d in lgw_urns]
        assert len(own) == 1 and own[0].endswith(c.name.replace("vcn-", "lgw-"))
    names = plans["network"].outputs["connection_names"]
    assert set(names) == {m.slug for m in REGION.municipalities}
    assert len(names["sortland"].split(",")) == 2


def test_gateway_is_zone_redundant_route_based_gen2(plans: dict[str, plan.PlanResult]) -> None:
    [gw] = of_type(plans["network"], ":VirtualNetworkGateway")
    assert gw.inputs["vpnType"] == "RouteBased" and gw.inputs["gatewayType"] == "Vpn"
    assert gw.inputs["sku"]["name"].endswith("AZ")
    assert gw.inputs["vpnGatewayGeneration"] == "Generation2"
    # The gateway's own address; the NAT gateways' (pip-ng-…) are tested with the isolation.
    [pip] = [
        r
        for r in of_type(plans["network"], ":PublicIPAddress")
        if r.inputs["publicIpAddressName"].startswith("pip-vgw-")
    ]
    assert pip.inputs["sku"]["name"] == "Standard"
    assert pip.inputs["publicIPAllocationMethod"] == "Static"
    assert pip.inputs["zones"] == ["1", "2", "3"]
    assert pip.urn in gw.dependencies


def test_gateway_subnet_size_nsgs_and_resolver_delegation(
    plans: dict[str, plan.PlanResult],
) -> None:
    subnets = {r.inputs["subnetName"]: r for r in of_type(plans["network"], ":Subnet")}
    gw = subnets["GatewaySubnet"]
    assert ipaddress.ip_network(gw.inputs["addressPrefix"]).prefixlen <= 27
    assert "networkSecurityGroup" not in gw.inputs
    for name, sub in subnets.items():
        if name != "GatewaySubnet":
            assert "networkSecurityGroup" in sub.inputs, name
    [d] = subnets["snet-dns-inbound"].inputs["delegations"]
    assert d["serviceName"] == "Microsoft.Network/dnsResolvers"


def test_no_address_spaces_overlap(plans: dict[str, plan.PlanResult]) -> None:
    spaces: list[ipaddress.IPv4Network] = []
    for vnet in of_type(plans["network"], ":VirtualNetwork"):
        spaces += [ipaddress.ip_network(p) for p in vnet.inputs["addressSpace"]["addressPrefixes"]]
    for lgw in of_type(plans["network"], ":LocalNetworkGateway"):
        spaces += [
            ipaddress.ip_network(p)
            for p in lgw.inputs["localNetworkAddressSpace"]["addressPrefixes"]
        ]
    assert len(spaces) == 3 + sum(len(m.networks) for m in REGION.municipalities)
    for a, b in combinations(spaces, 2):
        assert not a.overlaps(b), (a, b)


def test_private_dns_and_resolver(plans: dict[str, plan.PlanResult]) -> None:
    zones = {r.inputs["privateZoneName"] for r in of_type(plans["network"], ":PrivateZone")}
    assert zones == {
        "ilag.internal",
        "privatelink.blob.core.windows.net",
        "privatelink.vaultcore.azure.net",
    }
    # Every zone is linked to the hub and to every spoke (test_network_isolation.py).
    spokes = sum(1 for m in REGION.municipalities if m.spoke_prefix)
    assert len(of_type(plans["network"], ":VirtualNetworkLink")) == 3 * (1 + spokes)
    [inbound] = of_type(plans["network"], ":InboundEndpoint")
    ip = inbound.inputs["ipConfigurations"][0]["privateIpAddress"]
    assert ipaddress.ip_address(ip) in REGION.region.hub.subnets.dns_inbound
    assert plans["network"].outputs["resolver_inbound_ip"] == ip


def test_no_outbound_endpoint_without_a_forwarding_ruleset(
    plans: dict[str, plan.PlanResult],
) -> None:
    """An outbound endpoint only forwards through a ruleset; region.yaml names no municipal
    DNS zones or servers to build one from, so neither the endpoint nor its subnet is paid for."""
    network = plans["network"]
    assert of_type(network, ":DnsForwardingRuleset") == []
    assert of_type(network, ":OutboundEndpoint") == []
    names = {r.inputs["subnetName"] for r in of_type(network, ":Subnet")}
    assert "snet-dns-outbound" not in names


def test_spokes_peer_with_gateway_transit(plans: dict[str, plan.PlanResult]) -> None:
    peerings = of_type(plans["network"], ":VirtualNetworkPeering")
    spokes = [m for m in REGION.municipalities if m.spoke_prefix]
    assert len(peerings) == 2 * len(spokes)
    assert sum(1 for p in peerings if p.inputs.get("useRemoteGateways")) == len(spokes)
    assert sum(1 for p in peerings if p.inputs.get("allowGatewayTransit")) == len(spokes)


def test_outputs_match_the_interface(plans: dict[str, plan.PlanResult]) -> None:
    out = plans["network"].outputs
    for key in (
        "gateway_public_ip",
        "hub_prefixes",
        "resolver_inbound_ip",
        "connection_names",
        "dns_domain",
    ):
        assert key in out
    assert out["dns_domain"] == "ilag.internal"
    assert out["hub_prefixes"][0] == str(REGION.region.hub.address_space)
    ipaddress.ip_address(out["gateway_public_ip"])


def test_components_parent_their_children(plans: dict[str, plan.PlanResult]) -> None:
    by_urn = plans["network"].by_urn()
    for conn in of_type(plans["network"], ":VirtualNetworkGatewayConnection"):
        assert conn.parent is not None
        assert by_urn[conn.parent].type == "ilag:network:SiteLink"
