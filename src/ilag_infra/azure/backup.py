"""The backup stack: one storage account with, per municipality, a backup container and a
records container (records.py), each with a SAS of its own, and a Recovery Services vault for
Azure VMs.

Sites hold a SAS that can delete (restic removes its own lock files), so protection against a
compromised site is on the Azure side: blob versioning and soft delete keep every overwritten
or deleted blob recoverable for the retention period (the SAS has no `x` or `y`, so it cannot
delete a version), and pruning runs centrally under a separate credential. Every backup
container supports version-level immutability (WORM) from its creation; a default retention
policy is declared only when ilag:backupImmutabilityDays is set, because restic cannot delete
its lock files under one (docs/operators.md). A CanNotDelete lock stops the account itself
from being removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, recoveryservices, resources, storage

from ilag_infra.azure import backup_copy, monitoring, records, service_sas, site_secrets
from ilag_infra.azure.blueprint import Context
from ilag_infra.azure.identity import (
    Access,
    AccessArgs,
    Grant,
    PrivateEndpoint,
    PrivateEndpointArgs,
)
from ilag_infra.azure.roles import delegation_condition_output
from ilag_infra.azure.settings import BackupSettings, VmRetention
from ilag_infra.model import naming
from ilag_infra.model.stack_outputs import BackupOutput, NetworkOutput

# A site's restic needs to read, add, create, write, delete and list in its own container.
SITE_SAS_PERMISSIONS = "racwdl"
VERSION_DELETE_AFTER_DAYS = 365
SUNDAY = recoveryservices.DayOfWeek.SUNDAY


def _child(parent: pulumi.Resource, **extra: object) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **extra)  # type: ignore[arg-type]


@dataclass(frozen=True)
class StorageArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    allowed_ips: list[str]
    delete_retention_days: int
    cool_after_days: int


class BackupStorage(pulumi.ComponentResource):
    """The backup storage account with versioning, soft delete, lifecycle rules and a lock."""

    account: storage.StorageAccount
    blob_service: storage.BlobServiceProperties
    lock_name: str

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:backup:Storage", name, None, opts)
        ctx = args.ctx
        account_name = ctx.names.storage_account("backup")
        self.account = storage.StorageAccount(
            account_name,
            account_name=account_name,
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            kind="StorageV2",
            # GRS replicates to the paired region, norwaywest: the copy stays in Norway.
            sku=storage.SkuArgs(name="Standard_GRS"),
            access_tier=storage.AccessTier.HOT,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            # Container SAS tokens are signed with the account key, so shared-key access stays
            # on; Entra-signed (user delegation) SAS live at most 7 days, too short for sites.
            allow_shared_key_access=True,
            allow_cross_tenant_replication=False,
            public_network_access="Enabled",
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,
                bypass="AzureServices",
                ip_rules=[storage.IPRuleArgs(i_p_address_or_range=ip) for ip in args.allowed_ips],
            ),
            tags=ctx.tags("backup"),
            opts=_child(self, protect=True),
        )
        retention = storage.DeleteRetentionPolicyArgs(
            enabled=True, days=args.delete_retention_days, allow_permanent_delete=False
        )
        # Versioning is what version-level immutability stands on: Azure refuses a container
        # with immutableStorageWithVersioning until the account versions blobs.
        self.blob_service = storage.BlobServiceProperties(
            f"{account_name}-blob-service",
            blob_services_name="default",
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            is_versioning_enabled=True,
            delete_retention_policy=retention,
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.delete_retention_days
            ),
            opts=_child(self),
        )
        storage.ManagementPolicy(
            f"{account_name}-lifecycle",
            management_policy_name="default",
            account_name=self.account.name,
            resource_group_name=args.resource_group_name,
            policy=storage.ManagementPolicySchemaArgs(
                rules=[
                    storage.ManagementPolicyRuleArgs(
                        name="cool-and-expire-versions",
                        type="Lifecycle",
                        enabled=True,
                        definition=storage.ManagementPolicyDefinitionArgs(
                            filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"]),
                            actions=storage.ManagementPolicyActionArgs(
                                base_blob=storage.ManagementPolicyBaseBlobArgs(
                                    tier_to_cool=storage.DateAfterModificationArgs(
                                        days_after_modification_greater_than=args.cool_after_days
                                    )
                                ),
                                # Old versions are what a wiped site restores from; they cool
                                # early and expire after a year so costs stay bounded.
                                version=storage.ManagementPolicyVersionArgs(
                                    tier_to_cool=storage.DateAfterCreationArgs(
                                        days_after_creation_greater_than=args.cool_after_days
                                    ),
                                    delete=storage.DateAfterCreationArgs(
                                        days_after_creation_greater_than=VERSION_DELETE_AFTER_DAYS
                                    ),
                                ),
                            ),
                        ),
                    )
                ]
            ),
            opts=_child(self),
        )
        self.lock_name = ctx.names.lock(account_name)
        self.register_outputs({"blob_endpoint": self.account.primary_endpoints.blob})


@dataclass(frozen=True)
class ContainerArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    account_name: pulumi.Input[str]
    blob_endpoint: pulumi.Input[str]
    slug: str
    container: str
    sas_expiry: str
    blob_service: pulumi.Resource
    immutability_days: int = 0


class MunicipalityContainer(pulumi.ComponentResource):
    """One municipality's private container and a SAS that reaches that container only."""

    container: storage.BlobContainer
    sas_url: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:backup:MunicipalityContainer", name, None, opts)
        self.container = storage.BlobContainer(
            args.container,
            container_name=args.container,
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            metadata={"municipality": args.slug},
            # Only possible at creation (later it takes a migration) and never removable.
            immutable_storage_with_versioning=storage.ImmutableStorageWithVersioningArgs(
                enabled=True
            ),
            opts=_child(self, depends_on=[args.blob_service]),
        )
        if args.immutability_days:
            # The container's default time-based policy: each new blob version inherits it.
            # Created unlocked; locking is a manual, irreversible step (docs/operators.md).
            storage.BlobContainerImmutabilityPolicy(
                f"{args.container}-worm",
                immutability_policy_name="default",
                account_name=args.account_name,
                container_name=self.container.name,
                resource_group_name=args.resource_group_name,
                immutability_period_since_creation_in_days=args.immutability_days,
                opts=_child(self),
            )
        self.sas_url = service_sas.container_sas_url(
            args.account_name,
            args.resource_group_name,
            args.blob_endpoint,
            self.container.name,
            SITE_SAS_PERMISSIONS,
            args.sas_expiry,
        )
        self.register_outputs({"container": self.container.name})


def _retention(r: VmRetention, time_utc: str) -> recoveryservices.LongTermRetentionPolicyArgs:
    when = [f"2024-01-01T{time_utc}:00Z"]

    def days(count: int, unit: str) -> recoveryservices.RetentionDurationArgs:
        return recoveryservices.RetentionDurationArgs(count=count, duration_type=unit)

    first_sunday = recoveryservices.WeeklyRetentionFormatArgs(
        days_of_the_week=[SUNDAY], weeks_of_the_month=[recoveryservices.WeekOfMonth.FIRST]
    )
    return recoveryservices.LongTermRetentionPolicyArgs(
        retention_policy_type="LongTermRetentionPolicy",
        daily_schedule=recoveryservices.DailyRetentionScheduleArgs(
            retention_times=when, retention_duration=days(r.daily, "Days")
        ),
        weekly_schedule=recoveryservices.WeeklyRetentionScheduleArgs(
            days_of_the_week=[SUNDAY],
            retention_times=when,
            retention_duration=days(r.weekly, "Weeks"),
        ),
        monthly_schedule=recoveryservices.MonthlyRetentionScheduleArgs(
            retention_schedule_format_type="Weekly",
            retention_schedule_weekly=first_sunday,
            retention_times=when,
            retention_duration=days(r.monthly, "Months"),
        ),
        yearly_schedule=recoveryservices.YearlyRetentionScheduleArgs(
            retention_schedule_format_type="Weekly",
            months_of_year=[recoveryservices.MonthOfYear.JANUARY],
            retention_schedule_weekly=first_sunday,
            retention_times=when,
            retention_duration=days(r.yearly, "Years"),
        ),
    )


@dataclass(frozen=True)
class RecoveryVaultArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    retention: VmRetention
    backup_time_utc: str


class RecoveryVault(pulumi.ComponentResource):
    """Recovery Services vault for Azure VMs: soft delete, immutability, a GFS policy."""

    vault: recoveryservices.Vault

    def __init__(
        self, name: str, args: RecoveryVaultArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:backup:RecoveryVault", name, None, opts)
        ctx = args.ctx
        vault_name = ctx.names.recovery_vault()
        self.vault = vault = recoveryservices.Vault(
            vault_name,
            vault_name=vault_name,
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            sku=recoveryservices.SkuArgs(name="Standard", tier="Standard"),
            properties=recoveryservices.VaultPropertiesArgs(
                public_network_access="Disabled",
                redundancy_settings=recoveryservices.VaultPropertiesRedundancySettingsArgs(
                    standard_tier_storage_redundancy="GeoRedundant", cross_region_restore="Enabled"
                ),
                security_settings=recoveryservices.SecuritySettingsArgs(
                    # Enhanced soft delete, always on: "the ability to make soft delete
                    # always-on, thus protecting it from being disabled by any malicious
                    # actors" (learn.microsoft.com/azure/backup/backup-azure-enhanced-soft-delete-about).
                    # Irreversible once set, which is the point.
                    soft_delete_settings=recoveryservices.SoftDeleteSettingsArgs(
                        soft_delete_state=recoveryservices.SoftDeleteState.ALWAYS_ON,
                        soft_delete_retention_period_in_days=14,
                    ),
                    # "Unlocked" can still be tightened to "Locked" (irreversible) once the
                    # policy has been proven; see docs/operators.md.
                    immutability_settings=recoveryservices.ImmutabilitySettingsArgs(
                        state="Unlocked"
                    ),
                ),
            ),
            tags=ctx.tags("backup"),
            opts=_child(self, protect=True),
        )
        when = [f"2024-01-01T{args.backup_time_utc}:00Z"]
        recoveryservices.ProtectionPolicy(
            f"{vault_name}-vm-gfs",
            policy_name="vm-daily-gfs",
            vault_name=vault.name,
            resource_group_name=args.resource_group_name,
            properties=recoveryservices.AzureIaaSVMProtectionPolicyArgs(
                backup_management_type="AzureIaasVM",
                time_zone="UTC",
                instant_rp_retention_range_in_days=2,
                schedule_policy=recoveryservices.SimpleSchedulePolicyArgs(
                    schedule_policy_type="SimpleSchedulePolicy",
                    schedule_run_frequency="Daily",
                    schedule_run_times=when,
                ),
                retention_policy=_retention(args.retention, args.backup_time_utc),
            ),
            opts=_child(self),
        )
        self.register_outputs({"vault_name": vault.name})


def declare(
    ctx: Context, settings: BackupSettings, containers: dict[str, str]
) -> dict[str, object]:
    """Declare the backup stack's resources and return its outputs."""
    names = ctx.names
    net = pulumi.StackReference(settings.network_stack)
    ident = pulumi.StackReference(settings.identity_stack)
    client = authorization.get_client_config_output()
    rg = resources.ResourceGroup(
        names.resource_group("backup"),
        resource_group_name=names.resource_group("backup"),
        location=ctx.location,
        tags=ctx.tags("backup"),
    )
    store = BackupStorage(
        "storage",
        StorageArgs(
            ctx,
            rg.name,
            settings.storage_allowed_ips,
            settings.delete_retention_days,
            settings.cool_after_days,
        ),
    )
    account = store.account
    blob_endpoint = account.primary_endpoints.blob
    PrivateEndpoint(
        "blob-endpoint",
        PrivateEndpointArgs(
            ctx,
            rg.name,
            names.private_endpoint(names.storage_account("backup")),
            account.id,
            "blob",
            net.require_output("private_endpoint_subnet_id"),
            net.require_output("private_dns_zone_ids").apply(
                lambda z: str(z[naming.PRIVATELINK_BLOB_ZONE])
            ),
            "backup",
        ),
    )
    sas_urls: dict[str, pulumi.Output[str]] = {}
    records_urls: dict[str, pulumi.Output[str]] = {}
    grants: list[Grant] = []
    kv_rg = ident.require_output("resource_group_name")
    kv_name = ident.require_output("key_vault_name")
    kv_id = site_secrets.vault_id(client.subscription_id, kv_rg, kv_name)
    for m in ctx.region.municipalities:
        box = MunicipalityContainer(
            f"container-{m.slug}",
            ContainerArgs(
                ctx,
                rg.name,
                account.name,
                blob_endpoint,
                m.slug,
                containers[m.slug],
                settings.sas_expiry,
                store.blob_service,
                settings.immutability_days,
            ),
        )
        sas_urls[m.slug] = box.sas_url
        # The node's run records and apply lease: a container of its own, outside WORM.
        records_urls[m.slug] = records.RecordsContainer(
            f"records-container-{m.slug}",
            records.RecordsArgs(
                rg.name,
                account.name,
                blob_endpoint,
                m.slug,
                settings.sas_expiry,
                store.blob_service,
            ),
        ).sas_url
        # The technicians' copy of the site credential: their own municipality's only.
        grants.append(
            site_secrets.SiteSecret(
                f"site-secret-{m.slug}",
                site_secrets.SiteSecretArgs(
                    ctx, m.slug, kv_rg, kv_name, kv_id, box.sas_url, m.technician_group_object_id
                ),
            ).grant
        )
        # The restic password in escrow: losing the ansible-vault password must not lose
        # the municipality's backups. Its technicians read it; no other municipality's do.
        grants.append(
            site_secrets.ResticEscrow(
                f"restic-escrow-{m.slug}",
                site_secrets.SiteSecretArgs(
                    ctx,
                    m.slug,
                    kv_rg,
                    kv_name,
                    kv_id,
                    settings.restic_passwords[m.slug],
                    m.technician_group_object_id,
                ),
            ).grant
        )
        # A municipality's technicians may read their own backups, and nothing else.
        grants.append(
            Grant(
                f"container-{m.slug}",
                box.container.id,
                "Storage Blob Data Reader",
                f"technicians-{m.slug}",
                m.technician_group_object_id,
                "Group",
            )
        )
    recovery = RecoveryVault(
        "vm-backup",
        RecoveryVaultArgs(ctx, rg.name, settings.vm_retention, settings.vm_backup_time_utc),
    )
    operators = ident.require_output("operators_group_object_id")
    deploy = ident.require_output("deploy_identity_principal_id")
    # Operators see the backup resources and run VM backups and restores, but hold no role
    # that lists the account keys (Contributor does: with Shared Key on, the key reaches
    # every blob version). The central prune runs with the pruner role on the account.
    for role in ("Reader", "Backup Operator"):
        grants.append(Grant("rg-backup", rg.id, role, "operators", operators, "Group"))
    # Pull-request previews read the resources, never the data or the keys.
    preview = ident.require_output("preview_identity_principal_id")
    grants.append(Grant("rg-backup", rg.id, "Reader", "preview", preview, "ServicePrincipal"))
    grants.append(
        Grant(
            "account",
            account.id,
            "Backup Pruner",
            "operators",
            operators,
            "Group",
            role_definition=ident.require_output("pruner_role_definition_id"),
        )
    )
    lock_role_id = ident.require_output("lock_role_definition_id")
    # CI deploys with Contributor minus the actions that destroy backups (deployer role).
    grants.append(
        Grant(
            "rg-backup",
            rg.id,
            "Backup Deployer",
            "deploy",
            deploy,
            "ServicePrincipal",
            role_definition=ident.require_output("backup_deployer_role_definition_id"),
        )
    )
    grants.append(
        Grant(
            "rg-backup",
            rg.id,
            "Role Based Access Control Administrator",
            "deploy",
            deploy,
            "ServicePrincipal",
            # The same limits as in the identity stack: only the roles the stacks hand out.
            condition=delegation_condition_output(
                [],
                [lock_role_id, ident.require_output("pruner_role_definition_id")],
                exclude_principal=deploy,
            ),
        )
    )
    # Contributor cannot write locks: the deploy identity gets the lock-only custom role from
    # the identity stack here, and the lock waits for that assignment.
    lock_grant = Grant(
        "rg-backup",
        rg.id,
        "Lock Operator",
        "deploy",
        deploy,
        "ServicePrincipal",
        role_definition=lock_role_id,
    )
    grants.append(lock_grant)
    # The second copy, out of the account key's reach (backup_copy.py, docs/security.md).
    copy = None
    if settings.copy_days:
        copy = backup_copy.BackupCopy(
            "second-copy",
            backup_copy.CopyArgs(
                ctx,
                client.subscription_id,
                account.id,
                account.name,
                [containers[m.slug] for m in ctx.region.municipalities],
                settings.copy_days,
                backup_copy.BACKUP_TIME_UTC,
                deploy,
                ident.require_output("backup_deployer_role_definition_id"),
                lock_role_id,
            ),
        )
        grants.extend(copy.grants)
    access = Access(
        "access", AccessArgs(client.subscription_id, grants), type_token="ilag:backup:Access"
    )
    if copy is not None:
        copy.protect(ctx, list(access.assignments.values()))
    authorization.ManagementLockByScope(
        store.lock_name,
        lock_name=store.lock_name,
        scope=account.id,
        level="CanNotDelete",
        notes="Backups of every municipality; remove only by a deliberate, reviewed change.",
        opts=pulumi.ResourceOptions(
            parent=store, depends_on=[access.assignments["deploy-lock-operator-rg-backup"]]
        ),
    )
    # Logs and alerts go to the network stack's workspace and action group.
    monitoring.watch_backup(
        ctx,
        settings,
        rg.name,
        rg.id,
        store.blob_service.id,
        account.id,
        recovery.vault.id,
        net.require_output(NetworkOutput.LOG_ANALYTICS_WORKSPACE_ID),
        net.require_output(NetworkOutput.ACTION_GROUP_ID),
    )
    return {
        BackupOutput.BLOB_ENDPOINT: blob_endpoint,
        BackupOutput.STORAGE_ACCOUNT_NAME: account.name,
        BackupOutput.CONTAINER_NAMES: dict(containers),
        BackupOutput.CONTAINER_SAS_URLS: pulumi.Output.secret(sas_urls),
        BackupOutput.RECORDS_SAS_URLS: pulumi.Output.secret(records_urls),
        BackupOutput.RESOURCE_GROUP_NAME: rg.name,
    }
