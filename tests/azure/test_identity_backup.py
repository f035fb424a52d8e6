"""Identity and backup: Key Vault hardening, OIDC, scoped roles, storage protection, SAS scope."""

from __future__ import annotations

import uuid

from ilag_infra.azure import backup_copy, plan, roles
from ilag_infra.model import naming
from ilag_infra.model.region import load

from .conftest import REPO, backup_containers, of_type, sas_invokes

REGION = load(REPO / "region.yaml").model


def test_key_vault_is_hardened(plans: dict[str, plan.PlanResult]) -> None:
    [kv] = of_type(plans["identity"], ":keyvault:Vault")
    props = kv.inputs["properties"]
    assert props["enablePurgeProtection"] is True
    assert props["enableRbacAuthorization"] is True
    assert props["softDeleteRetentionInDays"] == 90
    assert props["networkAcls"]["defaultAction"] == "Deny"
    assert len(kv.inputs["vaultName"]) <= 24
    [pe] = [
        r
        for r in of_type(plans["identity"], "azure-native:network:PrivateEndpoint")
        if r.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["vault"]
    ]
    subnet = plans["network"].outputs["private_endpoint_subnet_id"]
    assert pe.inputs["subnet"]["id"] == subnet


def test_deploy_identity_trusts_github_oidc_only(plans: dict[str, plan.PlanResult]) -> None:
    # One credential each for the deploy and the read-only preview identity, never shared.
    creds = of_type(plans["identity"], ":FederatedIdentityCredential")
    assert len(creds) == 2
    for fic in creds:
        assert fic.inputs["issuer"] == "https://token.actions.githubusercontent.com"
        assert fic.inputs["audiences"] == ["api://AzureADTokenExchange"]
        assert fic.inputs["subject"].startswith("repo:")
    subjects = sorted(f.inputs["subject"] for f in creds)
    assert subjects[0].endswith(":environment:preview") and subjects[1].endswith(
        ":environment:prod"
    )
    out = plans["identity"].outputs
    uuid.UUID(out["deploy_identity_client_id"])
    uuid.UUID(out["preview_identity_client_id"])
    assert out["ssh_user_ca_public_key"].startswith("ssh-ed25519 ")
    assert out["key_vault_uri"].startswith("https://")


def test_role_assignments_are_deterministic_and_unique(plans: dict[str, plan.PlanResult]) -> None:
    assignments = of_type(plans["identity"], ":RoleAssignment") + of_type(
        plans["backup"], ":RoleAssignment"
    )
    names = [a.inputs["roleAssignmentName"] for a in assignments]
    assert len(names) == len(set(names))
    out = plans["identity"].outputs
    custom = {
        out[k]
        for k in (
            "lock_role_definition_id",
            "backup_deployer_role_definition_id",
            "pruner_role_definition_id",
        )
    }
    for a in assignments:
        uuid.UUID(a.inputs["roleAssignmentName"])
        guid = a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        # The Backup vault's role is assigned by its GUID (backup_copy.py): the vault's
        # identity is no row of the access matrix, so the catalogue does not carry it.
        assert (
            guid in roles.BUILTIN_ROLES.values()
            or a.inputs["roleDefinitionId"] in custom
            or guid == backup_copy.STORAGE_ACCOUNT_BACKUP_CONTRIBUTOR
        )
        assert a.inputs["roleAssignmentName"] == roles.assignment_name(
            a.inputs["scope"], a.inputs["roleDefinitionId"], a.inputs["principalId"]
        )


def test_technicians_read_only_their_own_container(plans: dict[str, plan.PlanResult]) -> None:
    reader = roles.BUILTIN_ROLES["Storage Blob Data Reader"]
    tech = [
        a
        for a in of_type(plans["backup"], ":RoleAssignment")
        if a.inputs["roleDefinitionId"].endswith(reader)
    ]
    assert len(tech) == len(REGION.municipalities)
    for m in REGION.municipalities:
        mine = [a for a in tech if a.inputs["principalId"] == m.technician_group_object_id]
        assert len(mine) == 1
        assert mine[0].inputs["scope"].endswith(f"/containers/{naming.container_name(m.slug)}")
    # And Key Vault Secrets User on their own site secret, at the secret's scope.
    secrets_user = roles.BUILTIN_ROLES["Key Vault Secrets User"]
    secret = [
        a
        for a in of_type(plans["backup"], ":RoleAssignment")
        if a.inputs["roleDefinitionId"].endswith(secrets_user)
        and a.inputs["principalId"] in {m.technician_group_object_id for m in REGION.municipalities}
    ]
    for m in REGION.municipalities:
        mine = [a for a in secret if a.inputs["principalId"] == m.technician_group_object_id]
        scopes = sorted(a.inputs["scope"].rsplit("/secrets/", 1)[1] for a in mine)
        # Its site SAS and its restic password in escrow, each at the secret's own scope.
        assert scopes == [f"restic-password-{m.slug}", f"site-sas-{m.slug}"]
    # Technician groups get nothing else anywhere.
    groups = {m.technician_group_object_id for m in REGION.municipalities}
    everything = of_type(plans["identity"], ":RoleAssignment") + of_type(
        plans["backup"], ":RoleAssignment"
    )
    assert all(a in tech + secret for a in everything if a.inputs["principalId"] in groups)


def test_storage_account_settings(plans: dict[str, plan.PlanResult]) -> None:
    [st] = of_type(plans["backup"], ":StorageAccount")
    i = st.inputs
    assert i["kind"] == "StorageV2" and i["sku"]["name"] == "Standard_GRS"
    assert i["minimumTlsVersion"] == "TLS1_2" and i["enableHttpsTrafficOnly"] is True
    assert i["allowBlobPublicAccess"] is False
    assert i["allowSharedKeyAccess"] is True  # account-key signed container SAS
    name = i["accountName"]
    assert 3 <= len(name) <= 24 and name.isalnum() and name.islower()
    # Two locks: the account's, and the second copy's Backup vault's (test_backup_copy.py).
    locks = of_type(plans["backup"], ":ManagementLockByScope")
    [lock] = [x for x in locks if "bvault" not in x.inputs["lockName"]]
    assert lock.inputs["level"] == "CanNotDelete"


def test_versioning_soft_delete_and_lifecycle(plans: dict[str, plan.PlanResult]) -> None:
    [svc] = of_type(plans["backup"], ":BlobServiceProperties")
    assert svc.inputs["isVersioningEnabled"] is True
    for key in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        assert svc.inputs[key]["enabled"] is True and svc.inputs[key]["days"] >= 30
    [policy] = of_type(plans["backup"], ":ManagementPolicy")
    [rule] = policy.inputs["policy"]["rules"]
    cool = rule["definition"]["actions"]["baseBlob"]["tierToCool"]
    assert cool["daysAfterModificationGreaterThan"] == 30


def test_one_container_and_one_container_scoped_sas_per_municipality(
    plans: dict[str, plan.PlanResult],
) -> None:
    backup = plans["backup"]
    account = backup.outputs["storage_account_name"]
    containers = {r.inputs["containerName"] for r in backup_containers(backup)}
    assert containers == {naming.container_name(m.slug) for m in REGION.municipalities}
    sas = [i.args for i in sas_invokes(backup)]
    assert len(sas) == len(REGION.municipalities)
    scoped = sorted(a["canonicalizedResource"] for a in sas)
    assert scoped == sorted(f"/blob/{account}/{c}" for c in containers)
    for a in sas:
        assert a["resource"] == "c" and a["permissions"] == "racwdl"
        assert a["protocols"] == "https" and a["sharedAccessExpiryTime"].endswith("Z")
    assert backup.outputs["container_sas_urls"] == plan.SECRET
    assert "container_sas_urls" in backup.secret_outputs
    assert backup.outputs["container_names"] == {
        m.slug: naming.container_name(m.slug) for m in REGION.municipalities
    }
    assert backup.outputs["blob_endpoint"] == f"https://{account}.blob.core.windows.net/"


def test_recovery_vault_and_gfs_policy(plans: dict[str, plan.PlanResult]) -> None:
    [vault] = of_type(plans["backup"], ":recoveryservices:Vault")
    sec = vault.inputs["properties"]["securitySettings"]
    assert sec["softDeleteSettings"]["softDeleteState"] == "AlwaysON"
    assert sec["immutabilitySettings"]["state"] in ("Unlocked", "Locked")
    [pol] = of_type(plans["backup"], ":ProtectionPolicy")
    ret = pol.inputs["properties"]["retentionPolicy"]
    for key in ("dailySchedule", "weeklySchedule", "monthlySchedule", "yearlySchedule"):
        assert ret[key]["retentionDuration"]["count"] > 0


def test_every_resource_tagged_located_and_policy_clean(plans: dict[str, plan.PlanResult]) -> None:
    for result in plans.values():
        assert result.ok, result.violations
        assert result.violations == []
        for r in result.resources:
            loc = r.inputs.get("location")
            if loc is not None:
                assert loc in ("norwayeast", "norwaywest", "global"), r.urn


def test_upstream_outputs_flow_through_stack_references(plans: dict[str, plan.PlanResult]) -> None:
    refs = of_type(plans["backup"], "pulumi:pulumi:StackReference")
    assert sorted(r.name for r in refs) == [
        "organization/ilag/identity",
        "organization/ilag/network",
    ]
