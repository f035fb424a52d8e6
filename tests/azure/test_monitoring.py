"""Monitoring as code, read from the offline plan: diagnostic settings on every protected
resource, the activity-log and metric alerts, a budget per resource group, one action group
for all of them, the plan rule that insists on the settings, and the settings' validation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ilag_infra.azure import azure_rules, monitoring, monitoring_rules, plan
from ilag_infra.model.errors import EXIT_BAD_INPUT, InputError

from .conftest import REPO, of_type


def _diagnostics(result: plan.PlanResult) -> dict[str, dict[str, Any]]:
    """resourceUri → inputs of every diagnostic setting in one stack."""
    return {r.inputs["resourceUri"]: r.inputs for r in of_type(result, "monitor:DiagnosticSetting")}


def _categories(inputs: dict[str, Any]) -> set[str]:
    return {log["category"] for log in inputs["logs"] if log["enabled"]}


def _action_group_id(plans: dict[str, plan.PlanResult]) -> str:
    return str(plans["network"].outputs["action_group_id"])


def test_one_workspace_in_norway_with_retention(plans: dict[str, plan.PlanResult]) -> None:
    workspaces = [r for p in plans.values() for r in of_type(p, "operationalinsights:Workspace")]
    assert len(workspaces) == 1
    ws = workspaces[0].inputs
    assert ws["location"] == "norwayeast"
    assert ws["retentionInDays"] == 90
    assert ws["sku"] == {"name": "PerGB2018"}
    assert plans["network"].outputs["log_analytics_workspace_id"].endswith(ws["workspaceName"])


@pytest.mark.parametrize(
    ("stack", "uri_end", "categories", "dedicated"),
    [
        (
            "backup",
            "/blobServices/default",
            {"StorageRead", "StorageWrite", "StorageDelete"},
            False,
        ),
        ("identity", "/vaults/kv-ilag-prod-ebbe", {"AuditEvent"}, False),
        (
            "network",
            "/virtualNetworkGateways/vgw-ilag-hub-prod-noe",
            {
                "TunnelDiagnosticLog",
                "IKEDiagnosticLog",
                "GatewayDiagnosticLog",
                "RouteDiagnosticLog",
            },
            False,
        ),
        ("backup", "/vaults/rsv-ilag-backup-prod-noe", set(monitoring.BACKUP_VAULT_LOGS), True),
    ],
)
def test_each_protected_resource_logs_to_the_workspace(
    plans: dict[str, plan.PlanResult],
    stack: str,
    uri_end: str,
    categories: set[str],
    dedicated: bool,
) -> None:
    matches = [i for uri, i in _diagnostics(plans[stack]).items() if uri.endswith(uri_end)]
    assert len(matches) == 1, (stack, uri_end)
    setting = matches[0]
    assert _categories(setting) == categories
    assert setting["workspaceId"] == plans["network"].outputs["log_analytics_workspace_id"]
    # Azure Backup's six events flow only into resource-specific tables.
    assert (setting.get("logAnalyticsDestinationType") == "Dedicated") is dedicated


def test_activity_log_alerts_watch_locks_roles_and_worm(plans: dict[str, plan.PlanResult]) -> None:
    alerts = of_type(plans["network"], "monitor:ActivityLogAlert")
    ops: dict[str, set[str]] = {}
    for alert in alerts:
        found: set[str] = set()
        for cond in alert.inputs["condition"]["allOf"]:
            if cond.get("field") == "operationName":
                found.add(cond["equals"])
            for leaf in cond.get("anyOf") or []:
                found.add(leaf["equals"])
        ops[alert.inputs["activityLogAlertName"]] = found
        assert alert.inputs["scopes"] == ["/subscriptions/" + plan.SUBSCRIPTION]
        assert alert.inputs["location"] == "global"
    assert sorted(ops.values(), key=sorted) == sorted(
        [
            {"Microsoft.Authorization/locks/delete"},
            {"Microsoft.Authorization/roleAssignments/write"},
            {
                "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/write",
                "Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies/delete",
            },
        ],
        key=sorted,
    )


def _criterion(alert: plan.PlanResource) -> dict[str, Any]:
    (criterion,) = alert.inputs["criteria"]["allOf"]
    return dict(criterion)


def test_tunnel_and_backup_job_alerts(plans: dict[str, plan.PlanResult]) -> None:
    (tunnel,) = of_type(plans["network"], "monitor:MetricAlert")
    crit = _criterion(tunnel)
    assert crit["metricName"] == "TunnelAverageBandwidth"
    assert crit["dimensions"] == [
        {"name": "ConnectionName", "operator": "Include", "values": ["*"]}
    ]
    assert tunnel.inputs["scopes"][0].endswith("/virtualNetworkGateways/vgw-ilag-hub-prod-noe")
    (jobs,) = of_type(plans["backup"], "monitor:MetricAlert")
    crit = _criterion(jobs)
    assert (crit["metricName"], crit["operator"], crit["threshold"]) == (
        "BackupHealthEvent",
        "GreaterThan",
        0,
    )
    assert set(crit["dimensions"][0]["values"]) == set(monitoring.FAILED_BACKUP_HEALTH)
    assert jobs.inputs["scopes"][0].endswith("/vaults/rsv-ilag-backup-prod-noe")


@pytest.mark.parametrize("stack", ["network", "identity", "backup"])
def test_a_budget_per_resource_group(plans: dict[str, plan.PlanResult], stack: str) -> None:
    (budget,) = of_type(plans[stack], "consumption:Budget")
    rg = of_type(plans[stack], "resources:ResourceGroup")[0].inputs["resourceGroupName"]
    assert budget.inputs["scope"].endswith(f"/resourceGroups/{rg}")
    assert budget.inputs["timeGrain"] == "Monthly"
    assert budget.inputs["timePeriod"]["startDate"].endswith("-01T00:00:00Z")
    notes = budget.inputs["notifications"].values()
    assert sorted(n["threshold"] for n in notes) == [80, 100]
    assert all(n["contactGroups"] == [_action_group_id(plans)] for n in notes)


def test_one_action_group_for_every_alert(plans: dict[str, plan.PlanResult]) -> None:
    groups = [r for p in plans.values() for r in of_type(p, "monitor:ActionGroup")]
    assert len(groups) == 1
    (receiver,) = groups[0].inputs["emailReceivers"]
    assert receiver["emailAddress"] == "drift@ilag.example"
    # Budgets call an action group only with the common alert schema off.
    assert receiver["useCommonAlertSchema"] is False
    group_id = _action_group_id(plans)
    used = []
    for p in plans.values():
        for r in of_type(p, "monitor:ActivityLogAlert"):
            used += [g["actionGroupId"] for g in r.inputs["actions"]["actionGroups"]]
        for r in of_type(p, "monitor:MetricAlert"):
            used += [a["actionGroupId"] for a in r.inputs["actions"]]
    assert len(used) == 5
    assert set(used) == {group_id}


def test_the_plans_pass_the_new_rule(plans: dict[str, plan.PlanResult]) -> None:
    for result in plans.values():
        assert "azure-diagnostic-settings" in result.policies_checked
        assert not [v for v in result.violations if v.policy == "azure-diagnostic-settings"]


def _planned(result: plan.PlanResult) -> list[azure_rules.PlannedResource]:
    return [
        azure_rules.PlannedResource(result.stack, r.urn, r.type, r.name, r.inputs)
        for r in result.resources
        if r.custom
    ]


def test_the_rule_fails_a_plan_without_diagnostic_settings(
    plans: dict[str, plan.PlanResult],
) -> None:
    resources = [r for r in _planned(plans["backup"]) if not r.type.endswith("DiagnosticSetting")]
    found = azure_rules.check_plan(resources)
    bad = [v for v in found if v.rule == "azure-diagnostic-settings"]
    assert {v.type for v in bad} == {
        "azure-native:storage:StorageAccount",
        "azure-native:recoveryservices:Vault",
    }
    assert all(not v.unknown and "no diagnostic setting" in v.problem for v in bad)
    assert all(v.doc.startswith("https://learn.microsoft.com/") for v in bad)


def test_a_setting_on_another_resource_or_without_logs_does_not_count(
    plans: dict[str, plan.PlanResult],
) -> None:
    resources = _planned(plans["identity"])
    kv_setting = next(r for r in resources if r.type.endswith("DiagnosticSetting"))
    others = [r for r in resources if r is not kv_setting]
    elsewhere = dataclasses.replace(
        kv_setting,
        inputs={**kv_setting.inputs, "resourceUri": kv_setting.inputs["resourceUri"] + "x"},
    )
    silent = dataclasses.replace(
        kv_setting,
        inputs={**kv_setting.inputs, "logs": [{"category": "AuditEvent", "enabled": False}]},
    )
    for setting in (elsewhere, silent):
        bad = monitoring_rules.diagnostics_cover_protected([*others, setting])
        assert [v.type for v in bad] == ["azure-native:keyvault:Vault"]
    assert monitoring_rules.diagnostics_cover_protected(resources) == []


def test_an_unknown_target_is_advisory(plans: dict[str, plan.PlanResult]) -> None:
    resources = _planned(plans["identity"])
    setting = next(r for r in resources if r.type.endswith("DiagnosticSetting"))
    blind = dataclasses.replace(setting, inputs={**setting.inputs, "resourceUri": "[unknown]"})
    others = [r for r in resources if r is not setting]
    bad = monitoring_rules.diagnostics_cover_protected([*others, blind])
    assert bad and all(v.unknown for v in bad)


def _run(stack: str, plans: dict[str, plan.PlanResult], **config: str) -> plan.PlanResult:
    upstream = {s: plans[s].outputs for s in plan.UPSTREAM.get(stack, ())}
    return plan.run(
        stack,
        root=REPO,
        config={f"ilag:{k}": v for k, v in config.items()},
        upstream=upstream,
    )


@pytest.mark.parametrize(
    ("stack", "key", "value"),
    [
        ("backup", "monthlyBudgetNok", "-5"),
        ("identity", "monthlyBudgetNok", "lots"),
        ("network", "operatorsEmail", "drift.ilag.no"),
        ("network", "operatorsEmail", "a@b.no, c@d.no"),
        ("network", "logRetentionDays", "7"),
    ],
)
def test_bad_settings_are_refused_naming_file_and_key(
    plans: dict[str, plan.PlanResult], stack: str, key: str, value: str
) -> None:
    with pytest.raises(InputError) as err:
        _run(stack, plans, **{key: value})
    text = str(err.value)
    assert f"stacks/Pulumi.{stack}.yaml" in text
    assert f"ilag:{key}" in text
    assert err.value.exit_code == EXIT_BAD_INPUT == 2


def test_budget_and_retention_follow_the_settings(plans: dict[str, plan.PlanResult]) -> None:
    result = _run("network", plans, monthlyBudgetNok="12345", logRetentionDays="180")
    (budget,) = of_type(result, "consumption:Budget")
    assert budget.inputs["amount"] == 12345
    (ws,) = of_type(result, "operationalinsights:Workspace")
    assert ws.inputs["retentionInDays"] == 180


def test_first_of_month() -> None:
    import datetime as dt

    assert monitoring.first_of_month(dt.date(2026, 12, 31)) == "2026-12-01T00:00:00Z"
