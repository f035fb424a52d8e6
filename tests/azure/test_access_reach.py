"""Network rows of `ilag access`: who reaches what, from the planned NSGs, tried both ways."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ilag_infra.azure import plan
from ilag_infra.azure.access import reach
from ilag_infra.azure.access.matrix import Cell
from ilag_infra.model.region import Region, load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def network() -> plan.PlanResult:
    return plan.run("network", root=REPO)


@pytest.fixture(scope="module")
def region() -> Region:
    return load(REPO / "region.yaml").model


def _nsg(result: plan.PlanResult, fragment: str) -> dict[str, Any]:
    return next(
        r.inputs
        for r in result.resources
        if r.type.endswith(":NetworkSecurityGroup") and fragment in r.name
    )


def _wrong(cells: list[Cell], region: Region) -> list[str]:
    return [
        f"{c.identity} {c.capability}: {c.why}"
        for c in cells
        if c.allowed != reach.intended(c, region)
    ]


def test_every_site_reaches_its_own_spoke_dns_and_endpoints_and_nothing_else(
    network: plan.PlanResult, region: Region
) -> None:
    cells = reach.compute(region, network)
    sites = {f"site:{m.slug}:{s.name}" for m in region.municipalities for s in m.sites}
    assert {c.identity for c in cells} == sites
    assert not _wrong(cells, region)
    hadsel = [c for c in cells if c.identity.startswith("site:hadsel:")]
    assert not any(c.allowed for c in hadsel if c.municipality == "sortland")
    assert all(c.allowed for c in hadsel if c.capability.startswith("reach:dns:53"))
    assert any(c.allowed for c in hadsel if c.capability == "reach:private-endpoints:443")


def _with_rule(
    network: plan.PlanResult,
    region: Region,
    nsg_fragment: str,
    slug: str,
    rule: dict[str, Any],
) -> plan.PlanResult:
    """A copy of the plan with `rule`, from every network of `slug`, first in one NSG."""
    changed = copy.deepcopy(network)
    muni = next(m for m in region.municipalities if m.slug == slug)
    sources = [str(n.prefix) for s in muni.sites for n in s.networks]
    nsg = _nsg(changed, nsg_fragment)
    nsg["securityRules"] = [
        {
            "direction": "Inbound",
            "sourceAddressPrefixes": sources,
            "destinationAddressPrefix": "*",
            **rule,
        },
        *nsg["securityRules"],
    ]
    return changed


def test_a_spoke_opened_to_another_municipality_is_found(
    network: plan.PlanResult, region: Region
) -> None:
    opened = _with_rule(
        network,
        region,
        "sortland-workloads",
        "hadsel",
        {
            "name": "oops-allow-hadsel",
            "priority": 101,
            "access": "Allow",
            "protocol": "Tcp",
            "destinationPortRange": "445",
        },
    )
    wrong = _wrong(reach.compute(region, opened), region)
    assert wrong and all("reach:spoke-sortland:445" in w for w in wrong), wrong
    assert "oops-allow-hadsel (priority 101)" in wrong[0]


def test_dns_closed_for_a_site_is_found(network: plan.PlanResult, region: Region) -> None:
    closed = _with_rule(
        network,
        region,
        "dns-inbound",
        "bo",
        {
            "name": "deny-bo",
            "priority": 99,
            "access": "Deny",
            "protocol": "*",
            "destinationPortRange": "53",
        },
    )
    wrong = _wrong(reach.compute(region, closed), region)
    assert wrong and all(w.startswith("site:bo:") and "reach:dns:53" in w for w in wrong)


def test_azure_default_rule_admits_every_site_where_nothing_denies(region: Region) -> None:
    """Only Azure's defaults: the VirtualNetwork tag lets a VPN site in on any port."""
    target = reach.Target(
        "spoke-x", "x", reach.ipaddress.IPv4Address("10.9.0.4"), "s", "v", (("Tcp", 445),)
    )
    site = reach.ipaddress.IPv4Network("10.66.10.0/24")
    allowed, why = reach.decide(site, target, "Tcp", 445, ("nsg", []))
    assert allowed and "AllowVnetInBound" in why and "VirtualNetwork tag" in why
    deny_vnet = {
        "name": "deny-vnet",
        "priority": 4000,
        "access": "Deny",
        "protocol": "*",
        "sourceAddressPrefix": "VirtualNetwork",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "*",
    }
    allowed, why = reach.decide(site, target, "Tcp", 445, ("nsg", [deny_vnet]))
    assert not allowed and "deny-vnet" in why


def test_a_deny_on_an_application_security_group_does_not_hide_reach(region: Region) -> None:
    # The plan cannot know which VMs an ASG holds: an allow to it counts, a deny does not.
    target = reach.Target(
        "spoke-x", "x", reach.ipaddress.IPv4Address("10.9.0.4"), "s", "v", (("Tcp", 445),)
    )
    site = reach.ipaddress.IPv4Network("10.66.10.0/24")
    deny_asg = {
        "name": "deny-to-asg",
        "priority": 100,
        "access": "Deny",
        "protocol": "*",
        "destinationPortRange": "*",
        "sourceAddressPrefix": "*",
        "destinationApplicationSecurityGroups": [{"id": "/asg/web"}],
    }
    allowed, why = reach.decide(site, target, "Tcp", 445, ("nsg", [deny_asg]))
    assert allowed and "AllowVnetInBound" in why
    # An ASG as the source never matches a site behind the VPN, so it cannot deny it either.
    deny_from_asg = {
        **deny_asg,
        "destinationApplicationSecurityGroups": None,
        "destinationAddressPrefix": "*",
        "sourceAddressPrefix": None,
        "sourceApplicationSecurityGroups": [{"id": "/asg/web"}],
    }
    assert reach.decide(site, target, "Tcp", 445, ("nsg", [deny_from_asg]))[0]


def test_private_endpoints_without_network_policies_are_reached_whatever_the_nsg_says(
    network: plan.PlanResult, region: Region
) -> None:
    off = copy.deepcopy(network)
    for res in off.resources:
        if res.type.endswith(":Subnet") and "private-endpoints" in str(
            res.inputs.get("subnetName")
        ):
            res.inputs["privateEndpointNetworkPolicies"] = "Disabled"
    cells = reach.compute(region, off)
    smb = [c for c in cells if c.capability == "reach:private-endpoints:445"]
    assert smb and all(c.allowed for c in smb)
    assert "network policies off" in smb[0].why
    assert _wrong(cells, region)


def test_shared_services_admit_ssh_from_management_networks_only(
    network: plan.PlanResult, region: Region
) -> None:
    cells = [c for c in reach.compute(region, network) if c.capability.startswith("reach:hub-")]
    assert {c.capability for c in cells} >= {"reach:hub-shared-services:22"}
    managed = {
        f"site:{m.slug}:{s.name}"
        for m in region.municipalities
        for s in m.sites
        if any(n.management for n in s.networks)
    }
    ssh = {c.identity for c in cells if c.allowed}
    assert ssh == managed and all(c.capability.endswith(":22") for c in cells if c.allowed)
