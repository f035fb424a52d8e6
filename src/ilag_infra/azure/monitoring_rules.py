"""Plan rule: every protected resource sends its logs somewhere.

The storage account, the Key Vault, the VPN gateway and the Recovery Services vault are the
resources whose misuse or failure operators must be able to reconstruct; each needs a
diagnostic setting with at least one enabled log category and a destination. The plan is
checked one stack at a time, so the setting must be declared in the same stack as the
resource (src/ilag_infra/azure/monitoring.py does that). A setting on a child resource (the
blob service of an account) covers its parent. Like azure_rules, nothing here imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ilag_infra.azure.azure_rules import (
    UNKNOWN_FIX,
    Finding,
    PlannedResource,
    RuleViolation,
    _violation,
)

RULE = "azure-diagnostic-settings"
DOC = "https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
# Protected type → (input holding its Azure name, its segment in a resource id).
PROTECTED: Mapping[str, tuple[str, str]] = {
    "azure-native:storage:StorageAccount": (
        "accountName",
        "/providers/microsoft.storage/storageaccounts/",
    ),
    "azure-native:keyvault:Vault": ("vaultName", "/providers/microsoft.keyvault/vaults/"),
    "azure-native:network:VirtualNetworkGateway": (
        "virtualNetworkGatewayName",
        "/providers/microsoft.network/virtualnetworkgateways/",
    ),
    "azure-native:recoveryservices:Vault": (
        "vaultName",
        "/providers/microsoft.recoveryservices/vaults/",
    ),
}
_DESTINATIONS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId")
_OPAQUE = ("[unknown]", "[secret]")


def _text(value: Any) -> str | None:
    return None if value is None or value in _OPAQUE else str(value)


def _sends_something(inputs: Mapping[str, Any]) -> bool:
    if not any(inputs.get(key) for key in _DESTINATIONS):
        return False
    entries = list(inputs.get("logs") or []) + list(inputs.get("metrics") or [])
    return any(isinstance(e, Mapping) and e.get("enabled") is True for e in entries)


def _covers(uri: str, segment: str, name: str) -> bool:
    """The setting's resourceUri is the resource or one of its children."""
    target = f"{segment}{name}".lower()
    lowered = uri.lower().rstrip("/")
    return lowered.endswith(target) or f"{target}/" in lowered


def diagnostics_cover_protected(resources: list[PlannedResource]) -> list[RuleViolation]:
    settings = [r for r in resources if r.type == DIAGNOSTIC_SETTING]
    known_uris = [
        _text(s.inputs.get("resourceUri")) for s in settings if _sends_something(s.inputs)
    ]
    unknown = any(
        _text(s.inputs.get("resourceUri")) is None for s in settings if _sends_something(s.inputs)
    )
    out = []
    for res in resources:
        spec = PROTECTED.get(res.type)
        if spec is None:
            continue
        key, segment = spec
        name = _text(res.inputs.get(key))
        if name is None:
            continue
        if any(uri and _covers(uri, segment, name) for uri in known_uris):
            continue
        if unknown:
            finding = Finding(
                "(diagnostic setting)",
                "a diagnostic setting's target is not known, so its cover is not checked",
                UNKNOWN_FIX,
                True,
            )
        else:
            finding = Finding(
                "(diagnostic setting)",
                f"{name} has no diagnostic setting in stack {res.stack} that sends its logs "
                "to a workspace",
                "declare monitoring.Diagnostics for it in the same stack, with the log "
                "categories of monitoring.py, into the network stack's workspace",
            )
        out.append(_violation(RULE, res, finding, DOC))
    return out
