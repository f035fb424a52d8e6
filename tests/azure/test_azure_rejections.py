"""What Azure would refuse at the first `pulumi up`, caught in the offline plan (issue 10).

Each test runs the real programs under mocks and checks the inputs Azure would judge.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from ilag_infra.azure import azure_rules, backup_copy, plan, roles, vpn_skus
from ilag_infra.model.errors import InputError
from ilag_infra.model.region import load

from .conftest import REPO, of_type


def _ip_rules(result: plan.PlanResult) -> list[str]:
    [account] = of_type(result, ":StorageAccount")
    return [r["iPAddressOrRange"] for r in account.inputs["networkRuleSet"]["ipRules"]]


# 1. Storage firewall -------------------------------------------------------------------------


def test_shipped_backup_config_gives_a_single_address_bare(
    plans: dict[str, plan.PlanResult],
) -> None:
    assert _ip_rules(plans["backup"]) == ["198.51.100.10"]
    assert plans["backup"].ok, plans["backup"].violations


@pytest.mark.parametrize(
    ("configured", "rules"),
    [
        (["198.51.100.10/32"], ["198.51.100.10"]),
        (["198.51.100.10/31"], ["198.51.100.10", "198.51.100.11"]),
        (["198.51.100.0/28", "198.51.100.10"], ["198.51.100.0/28", "198.51.100.10"]),
        (["198.51.100.10", "198.51.100.10/32"], ["198.51.100.10"]),
    ],
)
def test_storage_ip_rules_take_the_shape_azure_accepts(
    configured: list[str], rules: list[str], plans: dict[str, plan.PlanResult]
) -> None:
    upstream = {"network": plans["network"].outputs, "identity": plans["identity"].outputs}
    result = plan.run(
        "backup",
        root=REPO,
        config={"ilag:storageAllowedIps": json.dumps(configured)},
        upstream=upstream,
    )
    assert _ip_rules(result) == rules
    assert result.ok, result.violations


@pytest.mark.parametrize(
    ("configured", "words"),
    [
        ("10.1.2.3", "RFC 1918"),
        ("172.20.0.0/16", "RFC 1918"),
        ("192.168.1.0/24", "RFC 1918"),
        ("2001:db8::1", "IPv6"),
        ("198.51.100.10/24", "host bits"),
    ],
)
def test_storage_ip_rules_refuse_what_azure_refuses(
    configured: str, words: str, plans: dict[str, plan.PlanResult]
) -> None:
    upstream = {"network": plans["network"].outputs, "identity": plans["identity"].outputs}
    with pytest.raises(InputError) as err:
        plan.run(
            "backup",
            root=REPO,
            config={"ilag:storageAllowedIps": json.dumps([configured])},
            upstream=upstream,
        )
    text = str(err.value)
    assert "ilag:storageAllowedIps" in text and words in text
    assert "stacks/Pulumi.backup.yaml" in text


# 2. VPN gateway SKU and generation -----------------------------------------------------------


@pytest.mark.parametrize("sku", vpn_skus.ZONE_REDUNDANT)
def test_gateway_generation_follows_the_sku(sku: str) -> None:
    result = plan.run("network", root=REPO, config={"ilag:vpnGatewaySku": sku})
    [gw] = of_type(result, ":VirtualNetworkGateway")
    assert gw.inputs["sku"]["name"] == sku
    assert gw.inputs["vpnGatewayGeneration"] in vpn_skus.SKUS[sku].generations
    assert result.ok, result.violations


def test_the_documented_generation_table() -> None:
    only_gen1 = {n for n, s in vpn_skus.SKUS.items() if s.generations == (vpn_skus.GEN1,)}
    only_gen2 = {n for n, s in vpn_skus.SKUS.items() if s.generations == (vpn_skus.GEN2,)}
    assert only_gen1 == {"Basic", "VpnGw1", "VpnGw1AZ"}
    assert only_gen2 == {"VpnGw4", "VpnGw5", "VpnGw4AZ", "VpnGw5AZ"}
    assert vpn_skus.SKUS["VpnGw1AZ"].generation == "Generation1"
    assert vpn_skus.SKUS["VpnGw2AZ"].generation == "Generation2"


def _region_with_sites(tmp: Path, extra_sites: int) -> Path:
    yaml = YAML()
    data: Any = yaml.load((REPO / "region.yaml").read_text(encoding="utf-8"))
    sites = [
        {
            "name": f"site{i:02d}",
            "vpn_endpoint": f"198.51.100.{100 + i}",
            "networks": [{"name": "servers", "prefix": f"10.60.{i}.0/24"}],
        }
        for i in range(extra_sites)
    ]
    sites[0]["networks"].append(
        {"name": "management", "prefix": "10.61.0.0/24", "management": True}
    )
    data["municipalities"].append(
        {
            "slug": "lodingen",
            "name": "Lødingen",
            "kommunenummer": "1851",
            "population": 2071,
            "technician_group_object_id": "00000000-0000-0000-0000-000000001851",
            "sites": sites,
        }
    )
    path = tmp / "region.yaml"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    return path


def test_31_sites_do_not_fit_a_30_tunnel_sku(tmp_path: Path) -> None:
    region = load(_region_with_sites(tmp_path, 24))  # 7 shipped sites + 24 = 31
    with pytest.raises(InputError) as err:
        plan.run("network", region, root=REPO, config={"ilag:vpnGatewaySku": "VpnGw1AZ"})
    text = str(err.value)
    assert "at most 30" in text and "31 sites" in text and "VpnGw4AZ" in text
    result = plan.run("network", region, root=REPO, config={"ilag:vpnGatewaySku": "VpnGw4AZ"})
    assert len(of_type(result, ":VirtualNetworkGatewayConnection")) == 31
    assert result.ok, result.violations


# 3. Role-assignment names: two environments, nothing shared ----------------------------------


@pytest.fixture(scope="module")
def both_envs() -> list[plan.PlanResult]:
    prod = plan.run_many(plan.STACK_ORDER, root=REPO)
    test = plan.run_many(tuple(f"{s}-test" for s in plan.STACK_ORDER), root=REPO)
    return prod + test


def test_two_environments_share_no_name_azure_needs_unique(
    both_envs: list[plan.PlanResult],
) -> None:
    assert all(r.ok for r in both_envs), [r.violations for r in both_envs]
    assert plan.check_across(both_envs) == []
    assignments = [a for r in both_envs for a in r.resources if a.type.endswith(":RoleAssignment")]
    names = [a.inputs["roleAssignmentName"] for a in assignments]
    assert len(names) == len(set(names)) > 20
    identity = [
        a
        for r in both_envs
        if r.stack.startswith("identity")
        for a in of_type(r, ":RoleAssignment")
    ]
    assert len({a.inputs["roleAssignmentName"] for a in identity}) == len(identity)
    for kind in (":StorageAccount", ":keyvault:Vault"):
        found = [r for res in both_envs for r in of_type(res, kind)]
        key = "accountName" if kind == ":StorageAccount" else "vaultName"
        assert len(found) == 2 and len({r.inputs[key] for r in found}) == 2


def test_assignment_names_come_from_scope_role_and_principal() -> None:
    base = ("/subscriptions/s/resourceGroups/rg-a", "/roleDefinitions/r", "p")
    name = roles.assignment_name(*base)
    assert name == roles.assignment_name(*(part.upper() for part in base))
    for i in range(3):
        changed = list(base)
        changed[i] += "x"
        assert roles.assignment_name(*changed) != name


def test_the_uniqueness_rule_catches_a_shared_name(both_envs: list[plan.PlanResult]) -> None:
    a = next(r for r in both_envs[1].resources if r.type.endswith(":RoleAssignment"))
    twin = azure_rules.PlannedResource("identity-test", a.urn + "-twin", a.type, a.name, a.inputs)
    original = azure_rules.PlannedResource("identity", a.urn, a.type, a.name, a.inputs)
    [v] = azure_rules.unique_names([original, twin])
    assert v.rule == "azure-role-assignment-unique" and "in the tenant" in v.problem
    assert v.doc.startswith("https://learn.microsoft.com/")


# 4. The backup lock and who may write it -----------------------------------------------------


def _covers(scope: str, target: str) -> bool:
    return target.lower() == scope.lower() or target.lower().startswith(scope.lower() + "/")


def test_the_deploy_identity_may_write_the_lock_it_declares(
    plans: dict[str, plan.PlanResult],
) -> None:
    identity, backup = plans["identity"], plans["backup"]
    deploy = identity.outputs["deploy_identity_principal_id"]
    [definition] = [
        d
        for d in of_type(identity, ":RoleDefinition")
        if d.inputs["roleName"].startswith("ILAG Lock Operator")
    ]
    actions = {a for p in definition.inputs["permissions"] for a in p["actions"]}
    assert set(roles.LOCK_ACTIONS) <= actions
    assert not actions - set(roles.LOCK_ACTIONS)  # locks and nothing else
    lock_role_id = identity.outputs["lock_role_definition_id"]
    assert lock_role_id.endswith(definition.inputs["roleDefinitionId"])
    assignments = of_type(backup, ":RoleAssignment")
    for lock in of_type(backup, ":ManagementLockByScope"):
        holders = [
            a
            for a in assignments
            if a.inputs["principalId"] == deploy
            and a.inputs["roleDefinitionId"] == lock_role_id
            and _covers(a.inputs["scope"], lock.inputs["scope"])
        ]
        assert len(holders) == 1, lock.name
        assert holders[0].urn in lock.dependencies  # the lock waits for the right to write it
        assert any(
            _covers(s, holders[0].inputs["scope"]) for s in definition.inputs["assignableScopes"]
        )
    # Neither Owner nor User Access Administrator is handed to anyone by the stacks.
    strong = {roles.BUILTIN_ROLES[r] for r in roles.LOCK_CAPABLE_BUILTINS}
    for result in (identity, backup):
        for a in of_type(result, ":RoleAssignment"):
            assert a.inputs["roleDefinitionId"].rsplit("/", 1)[-1] not in strong


# 7. CI's role-assignment rights are limited by an ABAC condition -----------------------------


def _condition_guids(condition: str) -> list[set[str]]:
    import re

    return [
        {g.strip().lower() for g in block.split(",")}
        for block in re.findall(r"GuidEquals \{([^}]*)\}", condition)
    ]


def test_ci_may_assign_only_the_roles_the_stacks_assign(plans: dict[str, plan.PlanResult]) -> None:
    rbac_admin = roles.BUILTIN_ROLES["Role Based Access Control Administrator"]
    privileged = {roles.BUILTIN_ROLES[r] for r in roles.PRIVILEGED_ROLES}
    deploy = plans["identity"].outputs["deploy_identity_principal_id"]
    preview = plans["identity"].outputs["preview_identity_principal_id"]
    owner_made = {roles.BUILTIN_ROLES[r] for r in roles.OWNER_ASSIGNED_ROLES}
    for stack in ("identity", "backup"):
        assignments = of_type(plans[stack], ":RoleAssignment")
        admins = [a for a in assignments if a.inputs["roleDefinitionId"].endswith(rbac_admin)]
        assert admins, stack
        for admin in admins:
            condition = admin.inputs["condition"]
            assert admin.inputs["conditionVersion"] == "2.0"
            assert "roleAssignments/write" in condition and "roleAssignments/delete" in condition
            assert condition.count("(") == condition.count(")")
            write_guids, delete_guids = _condition_guids(condition)
            assert write_guids == delete_guids and not write_guids & privileged
            for a in assignments:
                guid = a.inputs["roleDefinitionId"].rsplit("/", 1)[-1].lower()
                if guid in privileged or not _covers(admin.inputs["scope"], a.inputs["scope"]):
                    continue
                # CI's own roles and the data administrators are the Owner's to assign: the
                # condition excludes CI itself and every role that could raise its rights.
                if a.inputs["principalId"] == deploy:
                    assert deploy in condition
                    continue
                if guid in owner_made:
                    assert guid not in write_guids
                    continue
                # The Backup vault's own identity on the account: a service principal, so the
                # Owner's first run assigns it, never CI.
                if guid == backup_copy.STORAGE_ACCOUNT_BACKUP_CONTRIBUTOR:
                    assert guid not in write_guids and a.inputs["principalId"] not in (
                        deploy,
                        preview,
                    )
                    continue
                # CI hands roles to groups only; the one service principal besides CI, the
                # read-only preview identity, gets its Reader from the Owner's first run.
                if a.inputs["principalType"] == "ServicePrincipal":
                    assert a.inputs["principalId"] == preview
                    assert "'ServicePrincipal'" not in condition
                    continue
                # Everything CI re-applies under this scope is inside its condition.
                assert guid in write_guids, (stack, a.name)
                assert a.inputs["principalType"] in roles.DELEGATED_PRINCIPAL_TYPES
