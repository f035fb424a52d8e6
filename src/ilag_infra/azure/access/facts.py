"""What the planned stacks declare that decides access to the backups: plain data, no Pulumi."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ilag_infra.azure.access import rbac
from ilag_infra.azure.plan import SUBSCRIPTION, PlanResult
from ilag_infra.model.stack_outputs import records_container

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
CONTAINER = "azure-native:storage:BlobContainer"
WORM_POLICY = "azure-native:storage:BlobContainerImmutabilityPolicy"
VAULT = "azure-native:recoveryservices:Vault"
BACKUP_VAULT = "azure-native:dataprotection:BackupVault"
BACKUP_POLICY = "azure-native:dataprotection:BackupPolicy"
BACKUP_INSTANCE = "azure-native:dataprotection:BackupInstance"
LOCKS = ("azure-native:authorization:ManagementLockByScope",)
SERVICE_SAS = "azure-native:storage:listStorageAccountServiceSAS"
KV_SECRET = "azure-native:keyvault:Secret"


@dataclass(frozen=True)
class Assignment:
    principal: str  # an identity label, e.g. "operators"
    principal_id: str
    scope: str
    role: rbac.RoleDef
    condition: str | None = None
    source: str = ""  # the planned resource, e.g. "backup: operators-contributor-rg-backup"


@dataclass(frozen=True)
class Container:
    slug: str
    name: str
    id: str
    worm_support: bool
    worm_days: int  # 0: no time-based policy
    worm_locked: bool


@dataclass(frozen=True)
class SiteSas:
    slug: str
    container: str
    permissions: str
    identifier: str | None


@dataclass(frozen=True)
class SecondCopy:
    """A Backup vault that copies backup containers out of the storage account (vaulted
    backup for blobs): what a destroyer would have to get past as well."""

    vault_id: str
    immutability: str  # Disabled | Unlocked | Locked
    soft_delete: str  # Off | On | AlwaysOn
    retention_days: int
    containers: frozenset[str]


def _days(duration: str) -> int:
    """P30D -> 30; anything else (weeks, months) is not what backup_copy.py declares."""
    text = duration.upper()
    if text.startswith("P") and text.endswith("D") and text[1:-1].isdigit():
        return int(text[1:-1])
    return 0


@dataclass
class Facts:
    subscription: str = SUBSCRIPTION
    backup_rg_id: str = ""
    account_id: str = ""
    shared_key: bool = True
    versioning: bool = False
    blob_soft_delete_days: int = 0
    containers: dict[str, Container] = field(default_factory=dict)
    locks: list[str] = field(default_factory=list)  # scopes with a CanNotDelete/ReadOnly lock
    vault_id: str = ""
    vault_soft_delete: str = ""
    vault_immutability: str = ""
    second_copy: SecondCopy | None = None
    site_sas: dict[str, SiteSas] = field(default_factory=dict)
    # The records containers (records-<slug>) and the node's SAS on each, by municipality.
    records: dict[str, Container] = field(default_factory=dict)
    records_sas: dict[str, SiteSas] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)
    principals: dict[str, str] = field(default_factory=dict)  # id -> label
    technicians: dict[str, str] = field(default_factory=dict)  # slug -> group id
    custom_roles: dict[str, rbac.RoleDef] = field(default_factory=dict)  # guid -> definition
    # slug -> {secret name: Key Vault secret id}: its site SAS and its restic password escrow.
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)


def _rg_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


# Identity-stack outputs that name a principal, and the row each becomes.
PRINCIPAL_OUTPUTS = {
    "operators_group_object_id": "operators",
    "deploy_identity_principal_id": "ci-deploy",
    "preview_identity_principal_id": "ci-preview",
}


def _labels(results: dict[str, PlanResult], technicians: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    ident = results.get("identity")
    if ident is not None:
        for output, label in PRINCIPAL_OUTPUTS.items():
            value = ident.outputs.get(output)
            if isinstance(value, str):
                out[value.lower()] = label
    for slug, gid in technicians.items():
        out.setdefault(gid.lower(), f"technician:{slug}")
    return out


def _second_copy(sub: str, everything: list[Any]) -> SecondCopy | None:
    vault = next((r for r in everything if r.type == BACKUP_VAULT), None)
    instance = next((r for r in everything if r.type == BACKUP_INSTANCE), None)
    if vault is None or instance is None:
        return None
    props = vault.inputs.get("properties") or {}
    sec = props.get("securitySettings") or {}
    days = 0
    for res in everything:
        if res.type != BACKUP_POLICY:
            continue
        for rule in (res.inputs.get("properties") or {}).get("policyRules") or []:
            for life in rule.get("lifecycles") or []:
                days = max(days, _days(str((life.get("deleteAfter") or {}).get("duration", ""))))
    params = ((instance.inputs.get("properties") or {}).get("policyInfo") or {}).get(
        "policyParameters"
    ) or {}
    names = {
        str(c)
        for p in params.get("backupDatasourceParametersList") or []
        for c in p.get("containersList") or []
    }
    rg = str(vault.inputs.get("resourceGroupName", ""))
    return SecondCopy(
        f"{_rg_id(sub, rg)}/providers/Microsoft.DataProtection/backupVaults/"
        f"{vault.inputs.get('vaultName', vault.name)}",
        str((sec.get("immutabilitySettings") or {}).get("state", "")),
        str((sec.get("softDeleteSettings") or {}).get("state", "")),
        days,
        frozenset(names),
    )


def gather(results: list[PlanResult], technicians: dict[str, str]) -> Facts:
    """Facts from the plans of the network, identity and backup stacks (one environment).
    `technicians` maps each municipality's slug to its technicians' group object id."""
    by_kind = {r.stack.split("-", 1)[0]: r for r in results}
    facts = Facts(technicians=dict(technicians))
    facts.principals = _labels(by_kind, technicians)
    catalogue = rbac.builtin()
    custom: dict[str, rbac.RoleDef] = {}
    everything = [res for r in results for res in r.resources if res.custom]
    for res in everything:
        if res.type == ROLE_DEFINITION:
            guid = str(res.inputs.get("roleDefinitionId", "")).lower()
            custom[guid] = rbac.custom_role(
                str(res.inputs.get("roleName", res.name)),
                guid,
                list(res.inputs.get("permissions") or []),
            )
    facts.custom_roles = custom
    backup = by_kind.get("backup")
    for res in everything:
        inputs: dict[str, Any] = res.inputs
        if res.type == STORAGE_ACCOUNT and backup is not None and res in backup.resources:
            rg = str(inputs.get("resourceGroupName", ""))
            facts.backup_rg_id = _rg_id(facts.subscription, rg)
            facts.account_id = (
                f"{facts.backup_rg_id}/providers/Microsoft.Storage/storageAccounts/"
                f"{inputs.get('accountName', res.name)}"
            )
            # Azure's default when the property is absent is to allow Shared Key.
            facts.shared_key = inputs.get("allowSharedKeyAccess") is not False
        elif res.type == BLOB_SERVICE:
            facts.versioning = bool(inputs.get("isVersioningEnabled"))
            policy = inputs.get("deleteRetentionPolicy") or {}
            facts.blob_soft_delete_days = (
                int(policy.get("days") or 0) if policy.get("enabled") else 0
            )
        elif res.type == VAULT:
            rg = str(inputs.get("resourceGroupName", ""))
            facts.vault_id = (
                f"{_rg_id(facts.subscription, rg)}/providers/Microsoft.RecoveryServices/vaults/"
                f"{inputs.get('vaultName', res.name)}"
            )
            sec = (inputs.get("properties") or {}).get("securitySettings") or {}
            facts.vault_soft_delete = str(
                (sec.get("softDeleteSettings") or {}).get("softDeleteState", "")
            )
            facts.vault_immutability = str((sec.get("immutabilitySettings") or {}).get("state", ""))
        elif res.type in LOCKS:
            facts.locks.append(str(inputs.get("scope", "")))
        elif res.type == KV_SECRET:
            slug = str((inputs.get("tags") or {}).get("municipality", ""))
            if slug:
                name = str(inputs.get("secretName", res.name))
                facts.secrets.setdefault(slug, {})[name] = (
                    f"{_rg_id(facts.subscription, str(inputs.get('resourceGroupName', '')))}"
                    f"/providers/Microsoft.KeyVault/vaults/{inputs.get('vaultName', '')}"
                    f"/secrets/{name}"
                )
    facts.second_copy = _second_copy(facts.subscription, everything)
    worm: dict[str, int] = {}
    for res in everything:
        if res.type == WORM_POLICY:
            days = res.inputs.get("immutabilityPeriodSinceCreationInDays")
            worm[str(res.inputs.get("containerName", ""))] = int(days or 0)
    for res in everything:
        if res.type == CONTAINER:
            name = str(res.inputs.get("containerName", res.name))
            slug = str((res.inputs.get("metadata") or {}).get("municipality", name))
            support = bool((res.inputs.get("immutableStorageWithVersioning") or {}).get("enabled"))
            # Both containers of a municipality carry its slug; the name tells them apart.
            kind = facts.records if name == records_container(slug) else facts.containers
            kind[slug] = Container(
                slug,
                name,
                f"{facts.account_id}/blobServices/default/containers/{name}",
                support,
                worm.get(name, 0),
                False,  # a policy is created unlocked; locking is a manual step
            )
    if backup is not None:
        by_container = {c.name: (c.slug, facts.site_sas) for c in facts.containers.values()}
        by_container |= {c.name: (c.slug, facts.records_sas) for c in facts.records.values()}
        for inv in backup.invokes:
            if inv.token != SERVICE_SAS:
                continue
            container = str(inv.args.get("canonicalizedResource", "")).rsplit("/", 1)[-1]
            found = by_container.get(container)
            if found is not None:
                owner, held = found
                ident = inv.args.get("identifier")
                held[owner] = SiteSas(
                    owner,
                    container,
                    str(inv.args.get("permissions", "")),
                    str(ident) if ident else None,
                )
    for r in results:
        for res in r.resources:
            if not res.custom or res.type != ROLE_ASSIGNMENT:
                continue
            guid = str(res.inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower()
            role = catalogue.by_guid(guid) or custom.get(guid)
            if role is None:
                role = rbac.RoleDef(f"unknown role {guid}", guid)
            pid = str(res.inputs.get("principalId", "")).lower()
            facts.assignments.append(
                Assignment(
                    facts.principals.get(pid, f"principal:{pid}"),
                    pid,
                    str(res.inputs.get("scope", "")),
                    role,
                    res.inputs.get("condition") or None,
                    f"{r.stack}: {res.name}",
                )
            )
    return facts
