"""The second copy of the backups: Azure Backup's vaulted backup for blobs, which copies each
municipality's backup container on a schedule into a Backup vault in a resource group of its
own, outside the storage account.

Why a second copy: restic must delete its lock files, so the containers carry no default WORM
retention (docs/operators.md), and anyone who reaches the account key (CI, a Contributor) can
delete blob versions there. The vault's recovery points are out of that key's reach, and the
vault is declared with immutability Locked and soft delete always on, so nobody can delete a
recovery point inside its retention (docs/security.md, "The second copy").

"The vaulted backup data is stored in Microsoft-managed Azure subscription and tenant. External
users or guests have no direct access to this backup storage or its contents"
(learn.microsoft.com/azure/backup/backup-vault-overview): no key of the source account reaches it.

Microsoft's words this stands on (learn.microsoft.com/azure/backup/blob-backup-support-matrix,
vaulted backup): "You can back up only block blobs in a standard general-purpose v2 storage
account using the vaulted backup solution for blobs", "You can take up to five backups per
storage account in a day", "You can back up storage accounts with up to 100 containers" and
"Archive tier blob backup isn't supported. Cool and cold tier blobs are restored in hot tier."
The page names no limitation for containers with version-level immutability support; that the
copy runs on them is to be proven on the first backup job in Azure (docs/backup.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, dataprotection, resources

from ilag_infra.azure.blueprint import Context
from ilag_infra.azure.identity import Grant

# "Lets you perform backup and restore operations using Azure Backup on the storage account."
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage): what the
# vault's managed identity needs on the source account for vaulted blob backup.
STORAGE_ACCOUNT_BACKUP_CONTRIBUTOR = "e5e2a7ff-d759-4cd2-bb51-3152d37e2eb1"
BLOB_DATASOURCE = "Microsoft.Storage/storageAccounts/blobServices"
# The service, in names and tags: rg-<region>-backupcopy-<env>-<loc>.
SERVICE = "backupcopy"
# Vaulted backup keeps recovery points up to ten years.
MAX_RETENTION_DAYS = 3650
# Daily, after the sites' nightly backups.
BACKUP_TIME_UTC = "05:00"
# Always-on soft delete keeps a deleted backup item this long (14 to 180 days).
SOFT_DELETE_DAYS = 14
VAULT_STORE = dataprotection.DataStoreInfoBaseArgs(
    data_store_type="VaultStore", object_type="DataStoreInfoBase"
)


def vault_name(ctx: Context) -> str:
    """bvault-<region>-backup-<env>-<loc>: the Recovery Services vault's CAF pattern with the
    Backup vault's abbreviation."""
    return "bvault-" + ctx.names.recovery_vault().split("-", 1)[1]


@dataclass(frozen=True)
class CopyArgs:
    ctx: Context
    subscription_id: pulumi.Input[str]
    account_id: pulumi.Input[str]
    account_name: pulumi.Input[str]
    containers: list[str]  # the municipalities' backup containers (not their records)
    retention_days: int
    backup_time_utc: str  # HH:MM
    deploy_principal_id: pulumi.Input[str]
    deployer_role_id: pulumi.Input[str]
    lock_role_id: pulumi.Input[str]


class BackupCopy(pulumi.ComponentResource):
    """Resource group, Backup vault (Locked, soft delete always on), daily policy and the
    backup instance of the storage account's backup containers, with a CanNotDelete lock."""

    resource_group: resources.ResourceGroup
    vault: dataprotection.BackupVault
    grants: list[Grant]
    lock_name: str

    def __init__(self, name: str, args: CopyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:backup:BackupCopy", name, None, opts)
        ctx = args.ctx
        child = pulumi.ResourceOptions(parent=self)
        rg_name = ctx.names.resource_group(SERVICE)
        self.resource_group = rg = resources.ResourceGroup(
            rg_name,
            resource_group_name=rg_name,
            location=ctx.location,
            tags=ctx.tags(SERVICE),
            opts=child,
        )
        name_ = vault_name(ctx)
        self.vault = vault = dataprotection.BackupVault(
            name_,
            vault_name=name_,
            resource_group_name=rg.name,
            location=ctx.location,
            identity=dataprotection.DppIdentityDetailsArgs(type="SystemAssigned"),
            properties=dataprotection.BackupVaultArgs(
                # Geo-redundant: the vault's copy also lives in the paired region, norwaywest.
                storage_settings=[
                    dataprotection.StorageSettingArgs(
                        datastore_type="VaultStore", type="GeoRedundant"
                    )
                ],
                security_settings=dataprotection.SecuritySettingsArgs(
                    # Locked is irreversible: "locking the Immutable vault setting makes it
                    # irreversible to prevent any malicious actors from disabling immutability
                    # and deleting backups" (learn.microsoft.com/azure/backup/
                    # backup-azure-immutable-vault-concept). Declared locked from the start,
                    # because an unlocked vault is one a deployer can switch off.
                    immutability_settings=dataprotection.ImmutabilitySettingsArgs(state="Locked"),
                    # "Once you enable the always-on state for soft delete, you can't disable it
                    # for that vault" (learn.microsoft.com/azure/backup/
                    # backup-azure-enhanced-soft-delete-about).
                    soft_delete_settings=dataprotection.SoftDeleteSettingsArgs(
                        state="AlwaysOn", retention_duration_in_days=SOFT_DELETE_DAYS
                    ),
                ),
            ),
            tags=ctx.tags(SERVICE),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        when = f"R/2024-01-01T{args.backup_time_utc}:00+00:00/P1D"
        policy = dataprotection.BackupPolicy(
            f"{name_}-blob-daily",
            backup_policy_name="blob-daily",
            vault_name=vault.name,
            resource_group_name=rg.name,
            properties=dataprotection.BackupPolicyArgs(
                object_type="BackupPolicy",
                datasource_types=[BLOB_DATASOURCE],
                policy_rules=[
                    dataprotection.AzureBackupRuleArgs(
                        name="BackupDaily",
                        object_type="AzureBackupRule",
                        backup_parameters=dataprotection.AzureBackupParamsArgs(
                            backup_type="Discrete", object_type="AzureBackupParams"
                        ),
                        data_store=VAULT_STORE,
                        trigger=dataprotection.ScheduleBasedTriggerContextArgs(
                            object_type="ScheduleBasedTriggerContext",
                            schedule=dataprotection.BackupScheduleArgs(
                                repeating_time_intervals=[when], time_zone="UTC"
                            ),
                            tagging_criteria=[
                                dataprotection.TaggingCriteriaArgs(
                                    is_default=True,
                                    tag_info=dataprotection.RetentionTagArgs(tag_name="Default"),
                                    tagging_priority=99,
                                )
                            ],
                        ),
                    ),
                    dataprotection.AzureRetentionRuleArgs(
                        name="Default",
                        object_type="AzureRetentionRule",
                        is_default=True,
                        lifecycles=[
                            dataprotection.SourceLifeCycleArgs(
                                delete_after=dataprotection.AbsoluteDeleteOptionArgs(
                                    duration=f"P{args.retention_days}D",
                                    object_type="AbsoluteDeleteOption",
                                ),
                                source_data_store=VAULT_STORE,
                            )
                        ],
                    ),
                ],
            ),
            opts=child,
        )
        backup_contributor = pulumi.Output.concat(
            "/subscriptions/",
            args.subscription_id,
            "/providers/Microsoft.Authorization/roleDefinitions/",
            STORAGE_ACCOUNT_BACKUP_CONTRIBUTOR,
        )
        principal = vault.identity.apply(lambda i: i.principal_id if i else "")
        self.grants = [
            # The vault's identity on the source account. A service principal: assigned by
            # the Owner's first run, never by CI (docs/security.md).
            Grant(
                "account",
                args.account_id,
                "Storage Account Backup Contributor",
                "backup-vault",
                principal,
                "ServicePrincipal",
                role_definition=backup_contributor,
            ),
            # CI deploys the vault, its policy and the instance; neither role undoes Locked
            # immutability or always-on soft delete.
            Grant(
                "rg-backupcopy",
                rg.id,
                "Backup Deployer",
                "deploy",
                args.deploy_principal_id,
                "ServicePrincipal",
                role_definition=args.deployer_role_id,
            ),
            Grant(
                "rg-backupcopy",
                rg.id,
                "Lock Operator",
                "deploy",
                args.deploy_principal_id,
                "ServicePrincipal",
                role_definition=args.lock_role_id,
            ),
        ]
        self._policy = policy
        self._account_id = args.account_id
        self._account_name = args.account_name
        self._containers = list(args.containers)
        self._vault_name = name_
        self.lock_name = ctx.names.lock(name_)
        self.register_outputs({"vault_name": vault.name})

    def protect(self, ctx: Context, waits_for: list[pulumi.Resource]) -> None:
        """The backup instance and the vault's lock, once the role assignments exist."""
        dataprotection.BackupInstance(
            f"{self._vault_name}-blobs",
            backup_instance_name="backup-containers",
            vault_name=self.vault.name,
            resource_group_name=self.resource_group.name,
            properties=dataprotection.BackupInstanceArgs(
                object_type="BackupInstance",
                friendly_name="backup-containers",
                data_source_info=dataprotection.DatasourceArgs(
                    object_type="Datasource",
                    datasource_type=BLOB_DATASOURCE,
                    resource_id=self._account_id,
                    resource_name=self._account_name,
                    resource_type="Microsoft.Storage/storageAccounts",
                    resource_location=ctx.location,
                    resource_uri=self._account_id,
                ),
                policy_info=dataprotection.PolicyInfoArgs(
                    policy_id=self._policy.id,
                    policy_parameters=dataprotection.PolicyParametersArgs(
                        backup_datasource_parameters_list=[
                            dataprotection.BlobBackupDatasourceParametersArgs(
                                object_type="BlobBackupDatasourceParameters",
                                containers_list=self._containers,
                            )
                        ]
                    ),
                ),
            ),
            tags=ctx.tags(SERVICE),
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for),
        )
        authorization.ManagementLockByScope(
            self.lock_name,
            lock_name=self.lock_name,
            scope=self.vault.id,
            level="CanNotDelete",
            notes="Second copy of every municipality's backups; see docs/security.md.",
            opts=pulumi.ResourceOptions(parent=self, depends_on=waits_for),
        )
