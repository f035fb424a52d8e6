"""Municipalities apart on the network, names resolved from every spoke, peerings in order and
a declared egress: the shipped plan, and crafted plans that each new rule must refuse."""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable
from typing import Any

import pytest

from ilag_infra.azure import azure_rules, plan
from ilag_infra.azure.access import reach
from ilag_infra.model.errors import InputError
from ilag_infra.model.region import load

from .conftest import REPO, of_type

REGION = load(REPO / "region.yaml").model
SPOKES = [m for m in REGION.municipalities if m.spoke_prefix is not None]
PRIVATELINK = {"privatelink.blob.core.windows.net", "privatelink.vaultcore.azure.net"}
NETWORK_RULES: dict[str, Callable[[list[azure_rules.PlannedResource]], Any]] = {
    "azure-peering-gateway-transit-order": azure_rules.peering_gateway_transit_order,
    "azure-private-dns-every-vnet": azure_rules.private_dns_every_vnet,
    "azure-subnet-egress": azure_rules.subnet_egress,
}
Net = ipaddress.IPv4Network


def _planned(result: plan.PlanResult) -> list[azure_rules.PlannedResource]:
    return [
        azure_rules.PlannedResource(
            result.stack, r.urn, r.type, r.name, copy.deepcopy(r.inputs), tuple(r.dependencies)
        )
        for r in result.resources
        if r.custom
    ]


def _one(resources: list[azure_rules.PlannedResource], name: str) -> azure_rules.PlannedResource:
    [found] = [r for r in resources if r.name == name]
    return found


def _replace(
    resources: list[azure_rules.PlannedResource], old: azure_rules.PlannedResource, **changes: Any
) -> list[azure_rules.PlannedResource]:
    new = azure_rules.PlannedResource(
        old.stack,
        old.urn,
        old.type,
        old.name,
        changes.get("inputs", old.inputs),
        changes.get("dependencies", old.dependencies),
    )
    return [new if r is old else r for r in resources]


def _nets(values: list[str]) -> list[Net]:
    return [ipaddress.ip_network(v) for v in values]  # type: ignore[misc]


def _sources(rule: dict[str, Any]) -> list[str]:
    return list(rule.get("sourceAddressPrefixes") or [rule["sourceAddressPrefix"]])


def _nsg(result: plan.PlanResult, name: str) -> list[dict[str, Any]]:
    [nsg] = [r for r in of_type(result, ":NetworkSecurityGroup") if r.name == name]
    return sorted(nsg.inputs["securityRules"], key=lambda r: int(r["priority"]))


def _site_nets(slug: str) -> list[Net]:
    return [n for m in REGION.municipalities if m.slug == slug for n in m.networks]


# --- the shipped plan ---------------------------------------------------------------------


def test_the_shipped_plan_passes_every_rule(plans: dict[str, plan.PlanResult]) -> None:
    for result in plans.values():
        assert result.ok, [v.message for v in result.violations]
    resources = _planned(plans["network"])
    for name, rule in NETWORK_RULES.items():
        assert rule(resources) == [], name
        assert name in plans["network"].policies_checked


@pytest.mark.parametrize("slug", [m.slug for m in SPOKES])
def test_a_spoke_admits_only_its_own_sites_and_ends_with_a_deny(
    plans: dict[str, plan.PlanResult], slug: str
) -> None:
    rules = _nsg(plans["network"], f"nsg-ilag-{slug}-workloads-prod-noe")
    spoke = next(m.spoke_prefix for m in SPOKES if m.slug == slug)
    assert spoke is not None
    own = _site_nets(slug)
    regional = list(REGION.region.management_networks)
    # Every allow names its sources: own sites, the spoke itself, or the regional jump hosts
    # on SSH (besides Azure's load balancer probes). No tag, no wildcard.
    for rule in rules:
        if rule["access"] != "Allow":
            continue
        sources = _sources(rule)
        if sources == ["AzureLoadBalancer"]:
            continue
        nets = _nets(sources)
        if rule["name"] == "allow-ssh-regional-management":
            assert nets == regional and rule["destinationPortRange"] == "22"
            continue
        assert all(any(n.subnet_of(o) for o in [*own, spoke]) for n in nets), rule
    assert any(_nets(_sources(r)) == own for r in rules if r["access"] == "Allow")
    # The last rule denies everything, before Azure's AllowVNetInBound (65000).
    last = rules[-1]
    assert last["access"] == "Deny" and _sources(last) == ["*"]
    assert last["protocol"] == "*" and last["destinationPortRange"] == "*"
    assert 100 <= int(last["priority"]) <= 4096 < 65000
    assert all(100 <= int(r["priority"]) <= 4096 for r in rules)
    # Evaluated as Azure does, defaults included: own sites in, every other municipality out.
    target = reach.Target(f"spoke-{slug}", slug, spoke[4], "snet-workloads", "v", ())
    nsg = ("nsg", rules)
    for proto, port in (("Tcp", 22), ("Tcp", 443), ("Tcp", 445), ("Tcp", 3389), ("Udp", 53)):
        for other in REGION.municipalities:
            for net in other.networks:
                allowed, why = reach.decide(net, target, proto, port, nsg)
                assert allowed == (other.slug == slug), why


def test_hub_endpoints_and_dns_admit_every_site_on_their_port_only(
    plans: dict[str, plan.PlanResult],
) -> None:
    clients = [n for m in REGION.municipalities for n in m.networks]
    spokes = [m.spoke_prefix for m in SPOKES if m.spoke_prefix is not None]
    hub = REGION.region.hub
    cases = {
        "nsg-ilag-private-endpoints-prod-noe": (hub.subnets.private_endpoints, {("Tcp", 443)}),
        "nsg-ilag-dns-inbound-prod-noe": (hub.subnets.dns_inbound, {("Tcp", 53), ("Udp", 53)}),
    }
    for name, (subnet, open_) in cases.items():
        rules = _nsg(plans["network"], name)
        assert rules[-1]["access"] == "Deny" and _sources(rules[-1]) == ["*"], name
        allows = [
            r for r in rules if r["access"] == "Allow" and _sources(r) != ["AzureLoadBalancer"]
        ]
        for rule in allows:
            assert set(_nets(_sources(rule))) == {*clients, *spokes, hub.address_space}
        target = reach.Target(name, "shared", subnet[4], "s", "hub", ())
        probes = {("Tcp", 443), ("Tcp", 445), ("Tcp", 53), ("Udp", 53), ("Tcp", 22)}
        for net in [*clients, *spokes]:
            for proto, port in probes:
                allowed, why = reach.decide(net, target, proto, port, (name, rules))
                assert allowed == ((proto, port) in open_), (name, net, why)


def test_every_vnet_is_linked_to_every_zone_and_only_the_hub_registers(
    plans: dict[str, plan.PlanResult],
) -> None:
    links = of_type(plans["network"], ":VirtualNetworkLink")
    vnets = {r.inputs["virtualNetworkName"] for r in of_type(plans["network"], ":VirtualNetwork")}
    assert len(vnets) == 1 + len(SPOKES)
    pairs = {
        (r.inputs["privateZoneName"], r.inputs["virtualNetwork"]["id"].rsplit("/", 1)[-1])
        for r in links
    }
    zones = {*PRIVATELINK, REGION.region.dns_domain}
    assert pairs == {(z, v) for z in zones for v in vnets}
    registering = [r for r in links if r.inputs["registrationEnabled"]]
    [hub_internal] = registering
    assert hub_internal.inputs["privateZoneName"] == REGION.region.dns_domain
    assert hub_internal.inputs["virtualNetwork"]["id"].endswith("/vnet-ilag-hub-prod-noe")


def test_the_spoke_side_peering_waits_for_the_hub_side(plans: dict[str, plan.PlanResult]) -> None:
    by_name = {r.name: r for r in of_type(plans["network"], ":VirtualNetworkPeering")}
    for m in SPOKES:
        spoke_side, hub_side = by_name[f"peer-{m.slug}-to-hub"], by_name[f"peer-hub-to-{m.slug}"]
        assert spoke_side.inputs["useRemoteGateways"] is True
        assert hub_side.inputs["allowGatewayTransit"] is True
        assert hub_side.urn in spoke_side.dependencies


def test_nat_gateways_serve_the_subnets_with_vms(plans: dict[str, plan.PlanResult]) -> None:
    network = plans["network"]
    nats = {r.inputs["natGatewayName"]: r for r in of_type(network, ":NatGateway")}
    assert set(nats) == {"ng-ilag-hub-prod-noe"} | {f"ng-ilag-{m.slug}-prod-noe" for m in SPOKES}
    pips = {r.inputs["publicIpAddressName"]: r for r in of_type(network, ":PublicIPAddress")}
    for nat in nats.values():
        assert nat.inputs["sku"]["name"] == "Standard"
        [ref] = nat.inputs["publicIpAddresses"]
        pip = pips[ref["id"].rsplit("/", 1)[-1]]
        assert pip.inputs["sku"]["name"] == "Standard" and pip.inputs["zones"] == ["1", "2", "3"]
        assert pip.inputs["location"] == "norwayeast"
    with_nat = {
        r.inputs["subnetName"] + "@" + r.inputs["virtualNetworkName"]
        for r in of_type(network, ":Subnet")
        if "natGateway" in r.inputs
    }
    assert with_nat == {"snet-shared-services@vnet-ilag-hub-prod-noe"} | {
        f"snet-workloads@vnet-ilag-{m.slug}-prod-noe" for m in SPOKES
    }


def test_egress_none_is_a_recorded_decision_that_passes() -> None:
    result = plan.run("network", root=REPO, config={"ilag:egress": "none"})
    assert result.ok, [v.message for v in result.violations]
    assert of_type(result, ":NatGateway") == []
    for vnet in of_type(result, ":VirtualNetwork"):
        assert vnet.inputs["tags"]["egress"] == "none"
    for subnet in of_type(result, ":Subnet"):
        assert subnet.inputs["defaultOutboundAccess"] is False
        assert "natGateway" not in subnet.inputs


def test_an_unknown_egress_choice_is_bad_input() -> None:
    with pytest.raises(InputError, match="ilag:egress"):
        plan.run("network", root=REPO, config={"ilag:egress": "proxy"})


def test_a_preview_decides_the_network_rules(plans: dict[str, plan.PlanResult]) -> None:
    """In a preview ids are unknown; the rules follow dependencies instead and still decide."""
    result = plan.run("network", root=REPO, preview=True)
    found = [v for v in result.violations if v.policy in NETWORK_RULES]
    assert found == []


# --- crafted plans each rule must refuse --------------------------------------------------


def test_a_peering_that_does_not_wait_for_the_hub_side_fails(
    plans: dict[str, plan.PlanResult],
) -> None:
    resources = _planned(plans["network"])
    spoke_side = _one(resources, "peer-sortland-to-hub")
    hub_side = _one(resources, "peer-hub-to-sortland")
    deps = tuple(d for d in spoke_side.dependencies if d != hub_side.urn)
    bad = _replace(resources, spoke_side, dependencies=deps)
    [v] = azure_rules.peering_gateway_transit_order(bad)
    assert v.rule == "azure-peering-gateway-transit-order" and not v.unknown
    assert v.name == "peer-sortland-to-hub" and "peer-hub-to-sortland" in v.fix
    assert v.doc.startswith("https://learn.microsoft.com/")
    # Through the whole catalogue, as `ilag plan` runs it.
    assert any(x.rule == v.rule for x in azure_rules.check_plan(bad))


def test_a_peering_whose_remote_side_offers_no_transit_fails(
    plans: dict[str, plan.PlanResult],
) -> None:
    resources = _planned(plans["network"])
    hub_side = _one(resources, "peer-hub-to-hadsel")
    bad = _replace(resources, hub_side, inputs={**hub_side.inputs, "allowGatewayTransit": False})
    [v] = azure_rules.peering_gateway_transit_order(bad)
    assert v.name == "peer-hadsel-to-hub" and "allowGatewayTransit" in v.problem


def test_a_peering_with_unknown_vnets_and_no_dependency_is_unknown_not_a_pass(
    plans: dict[str, plan.PlanResult],
) -> None:
    resources = _planned(plans["network"])
    spoke_side = _one(resources, "peer-hadsel-to-hub")
    inputs = {**spoke_side.inputs, "remoteVirtualNetwork": {"id": plan.UNKNOWN}}
    deps = tuple(d for d in spoke_side.dependencies if not d.endswith("peer-hub-to-hadsel"))
    bad = _replace(resources, spoke_side, inputs=inputs, dependencies=deps)
    [v] = azure_rules.peering_gateway_transit_order(bad)
    assert v.unknown


def test_a_spoke_without_zone_links_fails(plans: dict[str, plan.PlanResult]) -> None:
    resources = _planned(plans["network"])
    bad = [
        r
        for r in resources
        if not (
            r.type.endswith(":VirtualNetworkLink")
            and str(r.inputs["virtualNetwork"]["id"]).endswith("/vnet-ilag-hadsel-prod-noe")
        )
    ]
    [v] = azure_rules.private_dns_every_vnet(bad)
    assert v.rule == "azure-private-dns-every-vnet" and not v.unknown
    assert v.name == "vnet-ilag-hadsel-prod-noe"
    assert all(zone in v.problem for zone in PRIVATELINK)
    # One missing zone is enough to fail.
    blob_only = [
        r
        for r in resources
        if not (
            r.name == "privatelink.vaultcore.azure.net-link-sortland-prod"
            and r.type.endswith(":VirtualNetworkLink")
        )
    ]
    [v] = azure_rules.private_dns_every_vnet(blob_only)
    assert v.name == "vnet-ilag-sortland-prod-noe" and "vaultcore" in v.problem


def test_custom_dns_at_the_resolver_also_resolves_the_zones(
    plans: dict[str, plan.PlanResult],
) -> None:
    resources = _planned(plans["network"])
    unlinked = [
        r for r in resources if not (r.type.endswith(":VirtualNetworkLink") and "hadsel" in r.name)
    ]
    vnet = _one(unlinked, "vnet-ilag-hadsel-prod-noe")
    resolver_ip = plans["network"].outputs["resolver_inbound_ip"]
    at_resolver = {**vnet.inputs, "dhcpOptions": {"dnsServers": [resolver_ip]}}
    assert azure_rules.private_dns_every_vnet(_replace(unlinked, vnet, inputs=at_resolver)) == []
    elsewhere = {**vnet.inputs, "dhcpOptions": {"dnsServers": ["10.66.10.53"]}}
    [v] = azure_rules.private_dns_every_vnet(_replace(unlinked, vnet, inputs=elsewhere))
    assert v.name == "vnet-ilag-hadsel-prod-noe"


def test_a_subnet_without_egress_fails(plans: dict[str, plan.PlanResult]) -> None:
    resources = _planned(plans["network"])
    subnet = _one(resources, "vnet-ilag-sortland-prod-noe-snet-workloads")
    inputs = {k: v for k, v in subnet.inputs.items() if k != "natGateway"}
    bad = _replace(resources, subnet, inputs=inputs)
    [v] = azure_rules.subnet_egress(bad)
    assert v.rule == "azure-subnet-egress" and not v.unknown
    assert v.name == subnet.name and "no NAT gateway" in v.problem and "ilag:egress" in v.fix
    assert v.doc == azure_rules.DEFAULT_OUTBOUND_DOC
    # The same subnet passes once its VNet records the decision.
    vnet = _one(bad, "vnet-ilag-sortland-prod-noe")
    decided = {**vnet.inputs, "tags": {**vnet.inputs["tags"], "egress": "none"}}
    assert azure_rules.subnet_egress(_replace(bad, vnet, inputs=decided)) == []


def test_hub_subnets_without_a_recorded_decision_fail(plans: dict[str, plan.PlanResult]) -> None:
    resources = _planned(plans["network"])
    hub = _one(resources, "vnet-ilag-hub-prod-noe")
    tags = {k: v for k, v in hub.inputs["tags"].items() if k != "egress-none-subnets"}
    bad = _replace(resources, hub, inputs={**hub.inputs, "tags": tags})
    failed = {v.name for v in azure_rules.subnet_egress(bad)}
    assert failed == {
        f"vnet-ilag-hub-prod-noe-{s}"
        for s in ("GatewaySubnet", "snet-private-endpoints", "snet-dns-inbound")
    }
