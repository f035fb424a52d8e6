"""Monitoring as code: who is told when something that matters changes or breaks.

The network stack holds the one Log Analytics workspace and the one action group of an
environment (the operators' e-mail) and exports both; identity and backup read them through
their StackReferences. Each stack sends its protected resources' logs to the workspace,
alerts through the action group, and has a monthly budget on its resource group. What is
watched, where it goes and who is told is the table in docs/operators.md ("What is watched").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, consumption, monitor, operationalinsights, security

from ilag_infra.azure.blueprint import Context
from ilag_infra.azure.settings import BackupSettings, NetworkSettings
from ilag_infra.model import naming

# Resource log categories per protected resource (Azure Monitor "supported logs" pages).
STORAGE_BLOB_LOGS = ("StorageRead", "StorageWrite", "StorageDelete")
KEY_VAULT_LOGS = ("AuditEvent",)
VPN_GATEWAY_LOGS = (
    "GatewayDiagnosticLog",
    "TunnelDiagnosticLog",
    "RouteDiagnosticLog",
    "IKEDiagnosticLog",
)
# "The above six events ... are supported only in Resource Specific Mode"; the legacy
# AzureBackupReport "is supported only in Azure Diagnostics Mode" and not recommended
# (learn.microsoft.com/azure/backup/backup-azure-diagnostic-events).
BACKUP_VAULT_LOGS = (
    "CoreAzureBackup",
    "AddonAzureBackupJobs",
    "AddonAzureBackupAlerts",
    "AddonAzureBackupPolicy",
    "AddonAzureBackupStorage",
    "AddonAzureBackupProtectedInstance",
)
# Activity-log operations that undo a protection; watched in the whole subscription so a
# change made outside the stacks is seen too.
LOCK_DELETE = "Microsoft.Authorization/locks/delete"
ROLE_ASSIGNMENT_WRITE = "Microsoft.Authorization/roleAssignments/write"
IMMUTABILITY_POLICY = (
    "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies"
)
# Built-in policy definitions (the same GUIDs in every tenant).
ALLOWED_LOCATIONS_POLICY = "e56962a6-4747-49cd-b67b-bf8b01975c4c"
NO_PUBLIC_BLOB_POLICY = "4fa4b6c0-31ca-4c0d-b10d-24b96f62a751"
BUDGET_THRESHOLDS = (80, 100)
# Backup Health Events: "Unhealthy appears to job failures due to service errors, and
# Degraded appears to failures due to user errors" (learn.microsoft.com/azure/backup/metrics-overview).
FAILED_BACKUP_HEALTH = (
    "Transient Unhealthy",
    "Persistent Unhealthy",
    "Transient Degraded",
    "Persistent Degraded",
)
# Metric alerts and activity-log alerts are global resources; regional action groups are not
# offered in Norway (docs/operators.md, "What is watched").
GLOBAL = "global"


def _child(parent: pulumi.Resource, **extra: object) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **extra)  # type: ignore[arg-type]


def first_of_month(today: dt.date | None = None) -> str:
    """A monthly budget starts on the first day of the current month (Azure's rule)."""
    day = today or dt.datetime.now(dt.UTC).date()
    return f"{day.year:04d}-{day.month:02d}-01T00:00:00Z"


@dataclass(frozen=True)
class MonitoringHubArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    retention_days: int
    operators_email: str


class MonitoringHub(pulumi.ComponentResource):
    """The environment's Log Analytics workspace and its one action group."""

    workspace: operationalinsights.Workspace
    action_group: monitor.ActionGroup

    def __init__(
        self, name: str, args: MonitoringHubArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:monitoring:MonitoringHub", name, None, opts)
        ctx, names = args.ctx, args.ctx.names
        self.workspace = operationalinsights.Workspace(
            names.log_workspace(),
            workspace_name=names.log_workspace(),
            resource_group_name=args.resource_group_name,
            # The logs stay in Norway with the resources they describe.
            location=ctx.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.retention_days,
            tags=ctx.tags("monitoring"),
            opts=_child(self),
        )
        self.action_group = monitor.ActionGroup(
            names.action_group(),
            action_group_name=names.action_group(),
            resource_group_name=args.resource_group_name,
            location=GLOBAL,
            enabled=True,
            group_short_name="ilag-drift",
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name="operators",
                    email_address=args.operators_email,
                    # Budgets call an action group only with the common schema off.
                    use_common_alert_schema=False,
                )
            ],
            tags=ctx.tags("monitoring"),
            opts=_child(self),
        )
        self.register_outputs(
            {"workspace_id": self.workspace.id, "action_group_id": self.action_group.id}
        )


@dataclass(frozen=True)
class DiagnosticsArgs:
    ctx: Context
    target_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    categories: tuple[str, ...]
    # Resource-specific tables (Azure Backup's events need them) instead of AzureDiagnostics.
    dedicated: bool = False


class Diagnostics(pulumi.ComponentResource):
    """One diagnostic setting: the target's resource logs into the workspace."""

    setting: monitor.DiagnosticSetting

    def __init__(
        self, name: str, args: DiagnosticsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:monitoring:Diagnostics", name, None, opts)
        self.setting = monitor.DiagnosticSetting(
            f"{name}-diag",
            name=args.ctx.names.diagnostic_setting(),
            resource_uri=args.target_id,
            workspace_id=args.workspace_id,
            log_analytics_destination_type="Dedicated" if args.dedicated else None,
            logs=[
                monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
                for category in args.categories
            ],
            opts=_child(self),
        )
        self.register_outputs({})


@dataclass(frozen=True)
class ActivityAlertsArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    action_group_id: pulumi.Input[str]


class ActivityAlerts(pulumi.ComponentResource):
    """Activity-log alerts on the operations that remove a protection."""

    alerts: dict[str, monitor.ActivityLogAlert]

    def __init__(
        self, name: str, args: ActivityAlertsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:monitoring:ActivityAlerts", name, None, opts)
        ctx = args.ctx
        scope = pulumi.Output.concat("/subscriptions/", args.subscription_id)
        admin = monitor.AlertRuleAnyOfOrLeafConditionArgs(field="category", equals="Administrative")

        def op(value: str) -> monitor.AlertRuleAnyOfOrLeafConditionArgs:
            return monitor.AlertRuleAnyOfOrLeafConditionArgs(field="operationName", equals=value)

        rules: dict[str, tuple[str, list[monitor.AlertRuleAnyOfOrLeafConditionArgs]]] = {
            # Any status: a refused attempt to remove a lock is worth knowing about too.
            "lock-delete": ("A management lock was deleted (or someone tried).", [op(LOCK_DELETE)]),
            # Only succeeded writes: each deployment that changes a grant sends one mail.
            "role-assignment": (
                "A role assignment was created or changed.",
                [
                    op(ROLE_ASSIGNMENT_WRITE),
                    monitor.AlertRuleAnyOfOrLeafConditionArgs(field="status", equals="Succeeded"),
                ],
            ),
            "immutability": (
                "A container's immutability (WORM) policy was written or deleted.",
                [
                    monitor.AlertRuleAnyOfOrLeafConditionArgs(
                        any_of=[
                            monitor.AlertRuleLeafConditionArgs(
                                field="operationName", equals=f"{IMMUTABILITY_POLICY}/write"
                            ),
                            monitor.AlertRuleLeafConditionArgs(
                                field="operationName", equals=f"{IMMUTABILITY_POLICY}/delete"
                            ),
                        ]
                    )
                ],
            ),
        }
        self.alerts = {}
        for purpose, (description, conditions) in rules.items():
            alert_name = ctx.names.alert(purpose)
            self.alerts[purpose] = monitor.ActivityLogAlert(
                alert_name,
                activity_log_alert_name=alert_name,
                resource_group_name=args.resource_group_name,
                location=GLOBAL,
                enabled=True,
                description=description,
                scopes=[scope],
                condition=monitor.AlertRuleAllOfConditionArgs(all_of=[admin, *conditions]),
                actions=monitor.ActionListArgs(
                    action_groups=[monitor.ActionGroupArgs(action_group_id=args.action_group_id)]
                ),
                tags=ctx.tags("monitoring"),
                opts=_child(self),
            )
        self.register_outputs({})


@dataclass(frozen=True)
class MetricAlertArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    purpose: str
    description: str
    scope: pulumi.Input[str]
    namespace: str
    metric: str
    aggregation: str
    operator: str
    threshold: float
    window: str
    frequency: str
    action_group_id: pulumi.Input[str]
    # name → values; "*" splits the alert per value (one per tunnel, say).
    dimensions: dict[str, list[str]] = field(default_factory=dict)
    severity: int = 1


class MetricAlert(pulumi.ComponentResource):
    """One static-threshold metric alert on one resource, sent to the action group."""

    alert: monitor.MetricAlert

    def __init__(
        self, name: str, args: MetricAlertArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:monitoring:MetricAlert", name, None, opts)
        ctx = args.ctx
        rule_name = ctx.names.alert(args.purpose)
        self.alert = monitor.MetricAlert(
            rule_name,
            rule_name=rule_name,
            resource_group_name=args.resource_group_name,
            location=GLOBAL,
            description=args.description,
            enabled=True,
            severity=args.severity,
            scopes=[args.scope],
            evaluation_frequency=args.frequency,
            window_size=args.window,
            # Stateful: one mail when it starts, resolved after three clean evaluations.
            auto_mitigate=True,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name=args.purpose,
                        metric_namespace=args.namespace,
                        metric_name=args.metric,
                        time_aggregation=args.aggregation,
                        operator=args.operator,
                        threshold=args.threshold,
                        dimensions=[
                            monitor.MetricDimensionArgs(name=k, operator="Include", values=v)
                            for k, v in args.dimensions.items()
                        ],
                    )
                ],
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=args.action_group_id)],
            tags=ctx.tags("monitoring"),
            opts=_child(self),
        )
        self.register_outputs({})


@dataclass(frozen=True)
class BudgetArgs:
    ctx: Context
    service: str  # network | identity | backup
    resource_group_id: pulumi.Input[str]
    amount_nok: int
    action_group_id: pulumi.Input[str]


class Budget(pulumi.ComponentResource):
    """A monthly cost budget on one resource group: mails at 80 % and 100 % of actual cost."""

    budget: consumption.Budget

    def __init__(self, name: str, args: BudgetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:monitoring:Budget", name, None, opts)
        budget_name = args.ctx.names.budget(args.service)
        self.budget = consumption.Budget(
            budget_name,
            budget_name=budget_name,
            scope=args.resource_group_id,
            # In the billing currency: NOK only if the agreement bills in NOK.
            amount=float(args.amount_nok),
            category="Cost",
            time_grain="Monthly",
            time_period=consumption.BudgetTimePeriodArgs(start_date=first_of_month()),
            notifications={
                f"actual-{pct}-percent": consumption.NotificationArgs(
                    enabled=True,
                    operator="GreaterThanOrEqualTo",
                    threshold=float(pct),
                    threshold_type="Actual",
                    contact_emails=[],
                    contact_groups=[args.action_group_id],
                )
                for pct in BUDGET_THRESHOLDS
            },
            # The start date must be this month at creation; later runs keep the first one.
            opts=_child(self, ignore_changes=["timePeriod"]),
        )
        self.register_outputs({})


@dataclass(frozen=True)
class GuardrailsArgs:
    ctx: Context
    service: str
    resource_group_id: pulumi.Input[str]


class Guardrails(pulumi.ComponentResource):
    """Azure Policy on the stack's resource group: only Norwegian regions, no public blobs.

    The same rules as the policy pack, but enforced by Azure for changes made outside Pulumi
    (portal, CLI). Writing an assignment needs Microsoft.Authorization/policyAssignments/write,
    which Contributor lacks: like the custom roles, a change here is an Owner's `pulumi up`.
    """

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:monitoring:Guardrails", name, None, opts)
        names = args.ctx.names
        policies: dict[str, tuple[str, str, dict[str, object]]] = {
            "allowed-locations": (
                ALLOWED_LOCATIONS_POLICY,
                "Data stays in Norway: resources only in norwayeast or norwaywest.",
                {"listOfAllowedLocations": list(naming.ALLOWED_LOCATIONS)},
            ),
            "no-public-blob": (
                NO_PUBLIC_BLOB_POLICY,
                "Storage accounts must not allow anonymous blob access.",
                {"effect": "Deny"},
            ),
        }
        for purpose, (definition, description, parameters) in policies.items():
            assignment = names.policy_assignment(purpose, args.service)
            authorization.PolicyAssignment(
                assignment,
                policy_assignment_name=assignment,
                scope=args.resource_group_id,
                policy_definition_id=f"/providers/Microsoft.Authorization/policyDefinitions/{definition}",
                display_name=description,
                description=description,
                enforcement_mode="Default",
                parameters={
                    k: authorization.ParameterValuesValueArgs(value=v)
                    for k, v in parameters.items()
                },
                opts=_child(self),
            )
        self.register_outputs({})


@dataclass(frozen=True)
class StorageDefenderArgs:
    account_id: pulumi.Input[str]


class StorageDefender(pulumi.ComponentResource):
    """Defender for Storage on one account (not the subscription): activity-based threat
    detection only. Restic encrypts every blob, so malware scanning and sensitive-data
    discovery would read ciphertext and cost money for nothing."""

    def __init__(
        self, name: str, args: StorageDefenderArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:monitoring:StorageDefender", name, None, opts)
        security.DefenderForStorage(
            f"{name}-setting",
            resource_id=args.account_id,
            setting_name="current",
            properties=security.DefenderForStorageSettingPropertiesArgs(
                is_enabled=True,
                override_subscription_level_settings=True,
                malware_scanning=security.MalwareScanningPropertiesArgs(
                    on_upload=security.OnUploadPropertiesArgs(is_enabled=False)
                ),
                sensitive_data_discovery=security.SensitiveDataDiscoveryPropertiesArgs(
                    is_enabled=False
                ),
            ),
            opts=_child(self),
        )
        self.register_outputs({})


def watch_network(
    ctx: Context,
    settings: NetworkSettings,
    resource_group_name: pulumi.Input[str],
    resource_group_id: pulumi.Input[str],
    gateway_id: pulumi.Input[str],
) -> MonitoringHub:
    """The network stack's part: the workspace and action group every stack uses, the
    subscription's activity-log alerts, the VPN gateway's logs and tunnel alert."""
    hub = MonitoringHub(
        "monitoring",
        MonitoringHubArgs(
            ctx, resource_group_name, settings.log_retention_days, settings.operators_email
        ),
    )
    workspace_id, group_id = hub.workspace.id, hub.action_group.id
    Diagnostics("vpn-gateway", DiagnosticsArgs(ctx, gateway_id, workspace_id, VPN_GATEWAY_LOGS))
    client = authorization.get_client_config_output()
    ActivityAlerts(
        "activity-alerts",
        ActivityAlertsArgs(ctx, resource_group_name, client.subscription_id, group_id),
    )
    # No "connection status" metric exists for a VPN gateway; a tunnel that carries nothing
    # for an hour is down or idle (sites forward DNS to the resolver all day, so idle is
    # rare), and TunnelDiagnosticLog in the workspace says which, with the reason.
    MetricAlert(
        "vpn-tunnel",
        MetricAlertArgs(
            ctx,
            resource_group_name,
            "vpn-tunnel-down",
            "A site-to-site tunnel carried no traffic for an hour (down, or idle).",
            gateway_id,
            "Microsoft.Network/virtualNetworkGateways",
            "TunnelAverageBandwidth",
            "Average",
            "LessThan",
            1,
            "PT1H",
            "PT15M",
            group_id,
            {"ConnectionName": ["*"]},
        ),
    )
    watch_group(ctx, "network", resource_group_id, settings.budget_nok, group_id)
    return hub


def watch_group(
    ctx: Context,
    service: str,
    resource_group_id: pulumi.Input[str],
    budget_nok: int,
    action_group_id: pulumi.Input[str],
) -> None:
    """What every stack puts on its own resource group: a budget and the guardrails."""
    Budget("budget", BudgetArgs(ctx, service, resource_group_id, budget_nok, action_group_id))
    Guardrails("guardrails", GuardrailsArgs(ctx, service, resource_group_id))


def watch_backup(
    ctx: Context,
    settings: BackupSettings,
    resource_group_name: pulumi.Input[str],
    resource_group_id: pulumi.Input[str],
    blob_service_id: pulumi.Input[str],
    account_id: pulumi.Input[str],
    vault_id: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    action_group_id: pulumi.Input[str],
) -> None:
    """The backup stack's part: blob and vault logs, Defender on the account, the failed
    backup-job alert, budget and guardrails."""
    Diagnostics(
        "backup-blobs", DiagnosticsArgs(ctx, blob_service_id, workspace_id, STORAGE_BLOB_LOGS)
    )
    Diagnostics(
        "backup-vault",
        DiagnosticsArgs(ctx, vault_id, workspace_id, BACKUP_VAULT_LOGS, dedicated=True),
    )
    StorageDefender("backup-defender", StorageDefenderArgs(account_id))
    # Microsoft's own example: "Backup Health Events > 0 in the last 24 hours" for the
    # unhealthy and degraded health states (learn.microsoft.com/azure/backup/metrics-overview).
    MetricAlert(
        "backup-jobs",
        MetricAlertArgs(
            ctx,
            resource_group_name,
            "backup-job-failed",
            "An Azure VM backup job failed in the last 24 hours.",
            vault_id,
            "Microsoft.RecoveryServices/vaults",
            "BackupHealthEvent",
            "Count",
            "GreaterThan",
            0,
            "P1D",
            "PT1H",
            action_group_id,
            {"healthStatus": list(FAILED_BACKUP_HEALTH)},
        ),
    )
    watch_group(ctx, "backup", resource_group_id, settings.budget_nok, action_group_id)
