"""The plan drops the SDK's per-API-version type aliases, and keeps the program's own."""

from __future__ import annotations

import pulumi

from ilag_infra.azure import plan

VNET = "azure-native:network:VirtualNetwork"


def test_the_sdks_version_aliases_are_dropped() -> None:
    assert plan._is_version_alias(
        pulumi.Alias(type_="azure-native:network/v20230201:VirtualNetwork"), VNET
    )
    assert plan._is_version_alias(
        pulumi.Alias(type_="azure-native:network/v20150501preview:VirtualNetwork"), VNET
    )


def test_the_programs_aliases_stay() -> None:
    kept = [
        pulumi.Alias(name="old-name"),
        pulumi.Alias(name="old", type_="azure-native:network/v20230201:VirtualNetwork"),
        pulumi.Alias(type_="azure-native:network/v20230201:Subnet"),
        pulumi.Alias(type_="azure-native:storage/v20230101:VirtualNetwork"),
        pulumi.Alias(type_="azure-native:network:VirtualNetwork"),
        pulumi.Alias(type_="ilag:network:Spoke"),
        "urn:pulumi:network::ilag::azure-native:network:VirtualNetwork::old",
    ]
    assert not [a for a in kept if plan._is_version_alias(a, VNET)]
