"""Every policy has a passing and a failing fixture, checked through the rule and the pack."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import ResourceValidationArgs

from ilag_infra.azure import policies, policy_pack

TAGS = {
    "municipality": "shared",
    "service": "backup",
    "environment": "prod",
    "managed-by": "pulumi",
    "cost-center": "ilag-shared",
}

# policy name → (type, passing props, failing props)
FIXTURES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "mandatory-tags": (
        "azure-native:network:VirtualNetwork",
        {"tags": TAGS},
        {"tags": {k: v for k, v in TAGS.items() if k != "cost-center"}},
    ),
    "allowed-locations": (
        "azure-native:resources:ResourceGroup",
        {"location": "norwaywest", "tags": TAGS},
        {"location": "westeurope", "tags": TAGS},
    ),
    "secure-storage": (
        "azure-native:storage:StorageAccount",
        {
            "enableHttpsTrafficOnly": True,
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": False,
            "tags": TAGS,
            "location": "norwayeast",
        },
        {
            "enableHttpsTrafficOnly": True,
            "minimumTlsVersion": "TLS1_0",
            "allowBlobPublicAccess": True,
            "tags": TAGS,
            "location": "norwayeast",
        },
    ),
    "key-vault-purge-protection": (
        "azure-native:keyvault:Vault",
        {
            "properties": {
                "enablePurgeProtection": True,
                "softDeleteRetentionInDays": 90,
                "enableRbacAuthorization": True,
            },
            "tags": TAGS,
        },
        {
            "properties": {
                "enablePurgeProtection": False,
                "softDeleteRetentionInDays": 7,
                "enableRbacAuthorization": True,
            },
            "tags": TAGS,
        },
    ),
    "no-public-ip": (
        "azure-native:network:PublicIPAddress",
        {"publicIpAddressName": "pip-vgw-ilag-hub-prod-noe", "tags": TAGS},
        {"publicIpAddressName": "pip-jumphost", "tags": TAGS},
    ),
    "conditioned-role-admins": (
        "azure-native:authorization:RoleAssignment",
        {
            "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/"
            "roleDefinitions/f58310d9-a9f6-439a-9e8d-f62e7b41a168",
            "condition": "( ( !(ActionMatches{'x'}) ) )",
            "conditionVersion": "2.0",
        },
        {
            "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/"
            "roleDefinitions/f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        },
    ),
    "backup-versioning-soft-delete": (
        "azure-native:storage:BlobServiceProperties",
        {
            "isVersioningEnabled": True,
            "deleteRetentionPolicy": {"enabled": True, "days": 30},
            "containerDeleteRetentionPolicy": {"enabled": True, "days": 45},
        },
        {
            "isVersioningEnabled": True,
            "deleteRetentionPolicy": {"enabled": True, "days": 7},
            "containerDeleteRetentionPolicy": {"enabled": False, "days": 30},
        },
    ),
}


def test_every_policy_has_fixtures() -> None:
    assert set(FIXTURES) == {p.name for p in policies.POLICIES}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_rule_passes_and_fails(name: str) -> None:
    type_, good, bad = FIXTURES[name]
    assert policies.check(type_, good) == []
    failed = policies.check(type_, bad)
    assert failed and {v.policy for v in failed} == {name}
    assert all(v.enforcement == "mandatory" for v in failed)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_pack_reports_through_pulumi_policy(name: str) -> None:
    [pol] = [p for p in policy_pack.build() if p.name == name]
    assert pol.enforcement_level.value == "mandatory"
    type_, good, bad = FIXTURES[name]
    for props, expect in ((good, 0), (bad, 1)):
        reported: list[str] = []
        args = ResourceValidationArgs(type_, props, f"urn:x::{name}", "res", None, None)  # type: ignore[arg-type]
        pol.validate(args, lambda msg, urn=None, out=reported: out.append(msg))
        assert (len(reported) > 0) == bool(expect), reported


def test_untaggable_and_global_types() -> None:
    assert policies.check("azure-native:network:Subnet", {}) == []
    assert (
        policies.check("azure-native:privatedns:PrivateZone", {"location": "global", "tags": TAGS})
        == []
    )
    bad = policies.check(
        "azure-native:privatedns:PrivateZone", {"location": "norwayeast", "tags": TAGS}
    )
    assert [v.policy for v in bad] == ["allowed-locations"]
    assert policies.check("ilag:network:Hub", {}) == []
    nic = policies.check(
        "azure-native:network:NetworkInterface",
        {"tags": TAGS, "ipConfigurations": [{"publicIPAddress": {"id": "x"}}]},
    )
    assert [v.policy for v in nic] == ["no-public-ip"]
