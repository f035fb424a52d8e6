"""Every Azure rule has cases Azure accepts and cases it refuses, through the rule, the policy
pack and `ilag plan`'s result (resource, property, rule, fix, documentation link)."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import ResourceValidationArgs

from ilag_infra.azure import azure_rules, plan, policy_pack
from ilag_infra.cli.plan import render

from .conftest import REPO

SA = "azure-native:storage:StorageAccount"
KV = "azure-native:keyvault:Vault"
GW = "azure-native:network:VirtualNetworkGateway"
SUBNET = "azure-native:network:Subnet"


def _ips(*values: str) -> dict[str, Any]:
    return {"networkRuleSet": {"ipRules": [{"iPAddressOrRange": v} for v in values]}}


def _vm_policy(daily: int, weekly: int, monthly: int, yearly: int, instant: int = 2) -> dict:
    def sched(count: int) -> dict[str, Any]:
        return {"retentionDuration": {"count": count}}

    return {
        "properties": {
            "backupManagementType": "AzureIaasVM",
            "instantRpRetentionRangeInDays": instant,
            "retentionPolicy": {
                "dailySchedule": sched(daily),
                "weeklySchedule": sched(weekly),
                "monthlySchedule": sched(monthly),
                "yearlySchedule": sched(yearly),
            },
        }
    }


# rule → (type, [props Azure accepts], [props Azure refuses])
CASES: dict[str, tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = {
    "azure-storage-ip-rules": (
        SA,
        [_ips("198.51.100.10"), _ips("198.51.100.0/30", "198.51.100.9"), _ips("[unknown]")],
        [
            _ips("198.51.100.10/32"),
            _ips("198.51.100.10/31"),
            _ips("10.0.0.0/8"),
            _ips("192.168.10.7"),
            _ips("172.31.0.0/24"),
            _ips("2001:db8::/64"),
        ],
    ),
    "azure-vpn-sku-generation": (
        GW,
        [
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw1AZ"},
                "vpnGatewayGeneration": "Generation1",
            },
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw2AZ"},
                "vpnGatewayGeneration": "Generation2",
            },
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw3"},
                "vpnGatewayGeneration": "Generation1",
            },
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw5AZ"},
                "vpnGatewayGeneration": "Generation2",
            },
        ],
        [
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw1AZ"},
                "vpnGatewayGeneration": "Generation2",
            },
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw1"},
                "vpnGatewayGeneration": "Generation2",
            },
            {"gatewayType": "Vpn", "sku": {"name": "Basic"}, "vpnGatewayGeneration": "Generation2"},
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw4AZ"},
                "vpnGatewayGeneration": "Generation1",
            },
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw5"},
                "vpnGatewayGeneration": "Generation1",
            },
            {
                "gatewayType": "Vpn",
                "sku": {"name": "VpnGw9"},
                "vpnGatewayGeneration": "Generation2",
            },
        ],
    ),
    "azure-gateway-subnet": (
        SUBNET,
        [
            {"subnetName": "GatewaySubnet", "addressPrefix": "10.20.0.0/27"},
            {"subnetName": "GatewaySubnet", "addressPrefix": "10.20.0.0/26"},
            {
                "subnetName": "snet-x",
                "addressPrefix": "10.20.0.0/29",
                "networkSecurityGroup": {"id": "n"},
            },
        ],
        [
            {"subnetName": "GatewaySubnet", "addressPrefix": "10.20.0.0/28"},
            {
                "subnetName": "GatewaySubnet",
                "addressPrefix": "10.20.0.0/27",
                "networkSecurityGroup": {"id": "nsg"},
            },
            {
                "subnetName": "GatewaySubnet",
                "addressPrefix": "10.20.0.0/27",
                "routeTable": {"id": "rt"},
            },
        ],
    ),
    "azure-storage-account-name": (
        SA,
        [{"accountName": "stilagbackupprod80b6a6"}, {"accountName": "abc"}],
        [
            {"accountName": "st-ilag-backup"},
            {"accountName": "stIlagBackup"},
            {"accountName": "ab"},
            {"accountName": "stilagbackupprod80b6a6xyz"},
        ],
    ),
    "azure-key-vault-name": (
        KV,
        [{"vaultName": "kv-ilag-prod-1a2b"}, {"vaultName": "kv1"}],
        [
            {"vaultName": "1kv-ilag"},
            {"vaultName": "kv--ilag"},
            {"vaultName": "kv-ilag-"},
            {"vaultName": "kv-ilag-production-region-x"},
            {"vaultName": "kv_ilag"},
        ],
    ),
    "azure-resource-group-name": (
        "azure-native:resources:ResourceGroup",
        [{"resourceGroupName": "rg-ilag-network-prod-noe"}, {"resourceGroupName": "rg.(a)_b"}],
        [
            {"resourceGroupName": "rg-ilag."},
            {"resourceGroupName": "rg ilag"},
            {"resourceGroupName": "r" * 91},
            {"resourceGroupName": ""},
        ],
    ),
    "azure-network-names": (
        "azure-native:network:PublicIPAddress",
        [{"publicIpAddressName": "pip-vgw-ilag-hub-prod-noe"}, {"publicIpAddressName": "a_"}],
        [
            {"publicIpAddressName": "-pip"},
            {"publicIpAddressName": "pip."},
            {"publicIpAddressName": "pip/1"},
            {"publicIpAddressName": "p" * 81},
        ],
    ),
    "azure-tag-limits": (
        "azure-native:network:VirtualNetwork",
        [{"tags": {f"t{i}": "v" for i in range(50)}}, {"tags": {"n" * 512: "v" * 256}}],
        [
            {"tags": {f"t{i}": "v" for i in range(51)}},
            {"tags": {"n" * 513: "v"}},
            {"tags": {"n": "v" * 257}},
            {"tags": {"cost/center": "x"}},
            {"tags": {"a<b": "x"}},
        ],
    ),
    "azure-key-vault-soft-delete-range": (
        KV,
        [{"properties": {"softDeleteRetentionInDays": d}} for d in (7, 90)],
        [{"properties": {"softDeleteRetentionInDays": d}} for d in (6, 91, 365)],
    ),
    "azure-blob-soft-delete-range": (
        "azure-native:storage:BlobServiceProperties",
        [
            {"deleteRetentionPolicy": {"days": 1}, "containerDeleteRetentionPolicy": {"days": 365}},
        ],
        [
            {"deleteRetentionPolicy": {"days": 0}},
            {"containerDeleteRetentionPolicy": {"days": 366}},
        ],
    ),
    "azure-vm-backup-retention-range": (
        "azure-native:recoveryservices:ProtectionPolicy",
        [_vm_policy(7, 1, 1, 1), _vm_policy(9999, 5163, 1188, 99, 5)],
        [
            _vm_policy(6, 8, 12, 7),
            _vm_policy(14, 5164, 12, 7),
            _vm_policy(14, 8, 1189, 7),
            _vm_policy(14, 8, 12, 100),
            _vm_policy(14, 8, 12, 7, instant=6),
        ],
    ),
    "azure-immutability-interval": (
        "azure-native:storage:BlobContainerImmutabilityPolicy",
        [{"immutabilityPeriodSinceCreationInDays": d} for d in (1, 30, 146000)],
        [
            {"immutabilityPeriodSinceCreationInDays": 0},
            {"immutabilityPeriodSinceCreationInDays": 146001},
            {},
        ],
    ),
    "azure-role-assignment-guid": (
        "azure-native:authorization:RoleAssignment",
        [{"roleAssignmentName": "0d9c6f0e-1b2a-5c3d-8e4f-a1b2c3d4e5f6"}],
        [{"roleAssignmentName": "operators-contributor"}, {"roleAssignmentName": "0d9c6f0e"}],
    ),
}


def test_every_resource_rule_has_cases() -> None:
    assert set(CASES) == {r.name for r in azure_rules.RULES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_accepts_and_refuses(name: str) -> None:
    type_, good, bad = CASES[name]
    for props in good:
        assert azure_rules.check(type_, props) == [], (name, props)
    for props in bad:
        found = azure_rules.check(type_, props)
        assert found, (name, props)
        assert {rule.name for rule, _ in found} == {name}, (name, props)
        for rule, finding in found:
            assert rule.doc.startswith("https://learn.microsoft.com/")
            assert finding.prop and finding.problem and finding.fix


@pytest.mark.parametrize("name", sorted(CASES))
def test_pack_reports_the_rule(name: str) -> None:
    [pol] = [p for p in policy_pack.build() if p.name == name]
    assert pol.enforcement_level.value == "mandatory"
    type_, good, bad = CASES[name]
    for props, expect in ((good[0], False), (bad[0], True)):
        reported: list[str] = []
        args = ResourceValidationArgs(type_, props, f"urn:x::{name}", "res", None, None)  # type: ignore[arg-type]
        pol.validate(args, lambda msg, urn=None, out=reported: out.append(msg))
        assert bool(reported) == expect, reported
        if expect:
            assert "fix:" in reported[0] and "https://learn.microsoft.com/" in reported[0]


def _res(type_: str, name: str, inputs: dict[str, Any]) -> azure_rules.PlannedResource:
    return azure_rules.PlannedResource("network", f"urn:x::{name}", type_, name, inputs)


def _gateway_with(connections: int, sku: str) -> list[azure_rules.PlannedResource]:
    gw = _res(GW, "vgw", {"virtualNetworkGatewayName": "vgw-hub", "sku": {"name": sku}})
    conns = [
        _res(
            "azure-native:network:VirtualNetworkGatewayConnection",
            f"vcn-{i}",
            {"virtualNetworkGateway1": {"id": "/subscriptions/s/x/virtualNetworkGateways/vgw-hub"}},
        )
        for i in range(connections)
    ]
    return [gw, *conns]


def test_tunnel_capacity_per_sku() -> None:
    assert azure_rules.vpn_tunnel_capacity(_gateway_with(30, "VpnGw1AZ")) == []
    [v] = azure_rules.vpn_tunnel_capacity(_gateway_with(31, "VpnGw1AZ"))
    assert v.rule == "azure-vpn-tunnel-capacity" and "VpnGw4AZ" in v.fix
    assert azure_rules.vpn_tunnel_capacity(_gateway_with(100, "VpnGw5AZ")) == []
    [v] = azure_rules.vpn_tunnel_capacity(_gateway_with(101, "VpnGw5AZ"))
    assert "Virtual WAN" in v.fix


def _resolver(prefix: str, delegations: list[str]) -> list[azure_rules.PlannedResource]:
    subnet = _res(
        SUBNET,
        "snet-dns-inbound",
        {
            "subnetName": "snet-dns-inbound",
            "addressPrefix": prefix,
            "delegations": [{"serviceName": d} for d in delegations],
        },
    )
    endpoint = _res(
        "azure-native:dnsresolver:InboundEndpoint",
        "inbound",
        {"ipConfigurations": [{"subnet": {"id": "/x/subnets/snet-dns-inbound"}}]},
    )
    return [subnet, endpoint]


def test_resolver_subnets_sized_and_delegated() -> None:
    ok = "Microsoft.Network/dnsResolvers"
    assert azure_rules.resolver_subnets(_resolver("10.20.3.0/28", [ok])) == []
    assert azure_rules.resolver_subnets(_resolver("10.20.3.0/24", [ok])) == []
    for prefix, deleg in (("10.20.3.0/29", [ok]), ("10.20.0.0/23", [ok]), ("10.20.3.0/28", [])):
        [v] = azure_rules.resolver_subnets(_resolver(prefix, deleg))
        assert v.rule == "azure-resolver-subnets", (prefix, deleg)


def test_globally_unique_names_across_plans() -> None:
    a = _res(SA, "st1", {"accountName": "stilagbackupprod80b6a6"})
    b = azure_rules.PlannedResource("backup-test", "urn:y::st1", SA, "st1", dict(a.inputs))
    [v] = azure_rules.unique_names([a, b])
    assert v.rule == "azure-globally-unique-names" and "worldwide" in v.problem


def test_a_violation_fails_ilag_plan_with_resource_property_rule_fix_and_link(
    plans: dict[str, plan.PlanResult],
) -> None:
    # The settings reader only sets a floor for soft delete; Azure's ceiling is the rule's job.
    upstream = {"network": plans["network"].outputs, "identity": plans["identity"].outputs}
    result = plan.run(
        "backup", root=REPO, config={"ilag:deleteRetentionDays": "400"}, upstream=upstream
    )
    assert not result.ok
    found = [v for v in result.violations if v.policy == "azure-blob-soft-delete-range"]
    assert len(found) == 2  # blob and container retention
    for v in found:
        assert v.type == "azure-native:storage:BlobServiceProperties"
        assert "Retention" in v.message and "1-365" in v.message and "fix:" in v.message
        assert azure_rules.BLOB_SOFT_DELETE_DOC in v.message
    lines = "\n".join(render(result))
    assert "FAIL[/] azure-blob-soft-delete-range" in lines
    assert "pass[/] azure-storage-ip-rules" in lines


def test_account_level_immutability_interval() -> None:
    def account(days: int) -> dict[str, Any]:
        policy = {"immutabilityPeriodSinceCreationInDays": days, "state": "Unlocked"}
        return {"immutableStorageWithVersioning": {"enabled": True, "immutabilityPolicy": policy}}

    assert azure_rules.check(SA, account(365)) == []
    [(rule, finding)] = azure_rules.check(SA, account(0))
    assert rule.name == "azure-immutability-interval" and "1-146000" in finding.problem


def _worm(versioning: bool | None, account: str = "stbackup") -> list[azure_rules.PlannedResource]:
    out = [
        _res(
            "azure-native:storage:BlobContainer",
            "backup-andoy",
            {
                "accountName": account,
                "resourceGroupName": "rg-backup",
                "immutableStorageWithVersioning": {"enabled": True},
            },
        )
    ]
    if versioning is not None:
        service = {
            "accountName": "stbackup",
            "resourceGroupName": "rg-backup",
            "isVersioningEnabled": versioning,
        }
        out.append(_res("azure-native:storage:BlobServiceProperties", "blob", service))
    return out


def test_version_level_immutability_needs_blob_versioning() -> None:
    assert azure_rules.immutability_needs_versioning(_worm(True)) == []
    for resources in (_worm(False), _worm(None), _worm(True, account="stother")):
        [v] = azure_rules.immutability_needs_versioning(resources)
        assert v.rule == "azure-immutability-needs-versioning" and not v.unknown
        assert "isVersioningEnabled" in v.fix and v.doc.endswith("#version-dependency")
    # Account-level immutability turns versioning on by itself.
    account = _res(
        SA,
        "st",
        {
            "accountName": "stbackup",
            "resourceGroupName": "rg-backup",
            "immutableStorageWithVersioning": {"enabled": True},
        },
    )
    assert azure_rules.immutability_needs_versioning([account, *_worm(None)]) == []


def test_an_unknown_account_is_unknown_until_apply_not_a_pass_or_a_breach() -> None:
    [v] = azure_rules.immutability_needs_versioning(_worm(True, account="[unknown]"))
    assert v.unknown and "unknown until apply" in v.message


def _opaque(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _opaque(v) for k, v in value.items()}
    if isinstance(value, list):
        return "[unknown]"  # a whole list the preview does not know
    return "[unknown]"


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_values_never_crash_and_never_breach(name: str) -> None:
    """What a preview gives (unknown leaves, unknown lists) turns no accepted case into a
    breach, and no case crashes a rule: at most it is 'unknown until apply'."""
    type_, good, bad = CASES[name]
    for props in good:
        for _rule, finding in azure_rules.check(type_, _opaque(props)):
            assert finding.unknown, (name, props, finding)
    for props in bad:
        azure_rules.check(type_, _opaque(props))
