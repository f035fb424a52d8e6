"""Names and tags follow Azure's rules and the CAF abbreviations."""

from __future__ import annotations

import re

import pytest

from ilag_infra.model import naming


@pytest.mark.parametrize("env", ["prod", "test", "a", "abcdefghijkl"])
@pytest.mark.parametrize("region", ["ilag", "x", "vesteraalenikt"[:12]])
def test_global_names_fit_azure_limits(region: str, env: str) -> None:
    names = naming.Names(region, env)
    st = names.storage_account("backup")
    assert re.fullmatch(r"[a-z0-9]{3,24}", st) and st.startswith("st")
    kv = names.key_vault()
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", kv) and "--" not in kv
    assert kv.startswith("kv-")
    # Deterministic, and different per environment.
    assert st == naming.Names(region, env).storage_account("backup")
    other = "stage" if env != "stage" else "prod"
    assert st != naming.Names(region, other).storage_account("backup")


def test_caf_prefixes_and_location() -> None:
    n = naming.Names("ilag", "prod")
    assert n.resource_group("network") == "rg-ilag-network-prod-noe"
    assert n.vnet("hub").startswith("vnet-") and n.vpn_gateway().startswith("vgw-")
    assert n.local_gateway("bo", "straume").startswith("lgw-")
    assert n.connection("bo", "straume").startswith("vcn-")
    assert n.recovery_vault().startswith("rsv-") and n.identity("deploy").startswith("id-")
    assert n.vpn_gateway_public_ip().startswith(naming.VPN_GATEWAY_PUBLIC_IP_PREFIX)
    with pytest.raises(ValueError, match="Norway"):
        naming.Names("ilag", "prod", "westeurope")


def test_container_name_and_tags() -> None:
    assert naming.container_name("andoy") == "backup-andoy"
    with pytest.raises(ValueError):
        naming.container_name("Bad_Slug")
    shared = naming.tags("shared", "network", "prod", "weighted-0.30")
    assert shared["cost-key"] == "weighted-0.30" and shared["managed-by"] == "pulumi"
    own = naming.tags("bo", "backup", "prod")
    assert own == {
        "municipality": "bo",
        "service": "backup",
        "environment": "prod",
        "managed-by": "pulumi",
        "cost-center": "ilag-bo",
        "cost-key": "direct",
    }
