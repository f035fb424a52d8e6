"""Policy rules, written once as plain functions of (resource type, input properties).

The pulumi-policy pack in policy/ and the offline plan both call `check`, so a rule proven
in a unit test is the rule that guards `pulumi preview --policy-pack policy`. Properties use
Pulumi's wire names (camelCase), which is what both callers see. Nothing here imports Pulumi.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ilag_infra.model import naming

# Role definition GUIDs (the same in every tenant) of roles that can grant any access.
_OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
_ROLE_GRANTING = {
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}

MANDATORY = "mandatory"
# Reported, never failing: e.g. a rule that needs a value a preview does not know yet.
ADVISORY = "advisory"
REQUIRED_TAGS = ("municipality", "service", "environment", "managed-by", "cost-center")
MIN_SOFT_DELETE_DAYS = 30
KEY_VAULT_SOFT_DELETE_DAYS = 90

# Azure resources that cannot carry tags (child or extension resources). Any other
# azure-native type must be tagged, so a new type fails closed until it is listed here.
UNTAGGABLE = frozenset(
    {
        "azure-native:network:Subnet",
        "azure-native:network:VirtualNetworkPeering",
        "azure-native:network:PrivateDnsZoneGroup",
        "azure-native:storage:BlobContainer",
        "azure-native:storage:BlobContainerImmutabilityPolicy",
        "azure-native:storage:BlobServiceProperties",
        "azure-native:storage:ManagementPolicy",
        # A Backup vault's policy is a proxy resource without tags (its instance has them).
        "azure-native:dataprotection:BackupPolicy",
        "azure-native:authorization:RoleAssignment",
        "azure-native:authorization:RoleDefinition",
        "azure-native:authorization:ManagementLockByScope",
        "azure-native:authorization:ManagementLockAtResourceGroupLevel",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:privatedns:PrivateRecordSet",
        "azure-native:recoveryservices:ProtectionPolicy",
        # Extension resources of the monitoring (src/ilag_infra/azure/monitoring.py).
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:consumption:Budget",
        "azure-native:authorization:PolicyAssignment",
        "azure-native:security:DefenderForStorage",
    }
)
# Private DNS zones and their links are global by nature; Azure accepts nothing else.
GLOBAL_TYPES = frozenset(
    {
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
        # Alert rules and the action group: metric alerts take only "global", activity-log
        # alerts Global or two non-Norwegian regions, and regional action groups are not
        # offered in Norway (docs/operators.md, "What is watched").
        "azure-native:monitor:ActionGroup",
        "azure-native:monitor:ActivityLogAlert",
        "azure-native:monitor:MetricAlert",
    }
)

Props = Mapping[str, Any]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    check: Callable[[str, Props], list[str]]
    enforcement: str = MANDATORY


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    enforcement: str = MANDATORY


def _azure(type_: str) -> bool:
    return type_.startswith("azure-native:") and not type_.startswith("pulumi:providers:")


def get_path(props: Props, *path: str) -> Any:
    """The value at a property path, or None where the path leaves the mappings."""
    value: Any = props
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def mandatory_tags(type_: str, props: Props) -> list[str]:
    if not _azure(type_) or type_ in UNTAGGABLE:
        return []
    tags = props.get("tags")
    if not isinstance(tags, Mapping):
        return [f"has no tags; required: {', '.join(REQUIRED_TAGS)}"]
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    return [f"missing tag(s) {', '.join(missing)}"] if missing else []


def allowed_locations(type_: str, props: Props) -> list[str]:
    if not _azure(type_):
        return []
    location = props.get("location")
    if location is None:
        return []  # inherits its parent's location, which is itself checked
    loc = str(location).replace(" ", "").lower()
    if type_ in GLOBAL_TYPES:
        return [] if loc == "global" else [f"location {location!r}: this type must be global"]
    if loc not in naming.ALLOWED_LOCATIONS:
        return [
            f"location {location!r} is outside Norway; allowed: "
            f"{', '.join(naming.ALLOWED_LOCATIONS)}"
        ]
    return []


def secure_storage(type_: str, props: Props) -> list[str]:
    if type_ != "azure-native:storage:StorageAccount":
        return []
    out = []
    if props.get("enableHttpsTrafficOnly") is not True:
        out.append("enableHttpsTrafficOnly must be true")
    if props.get("minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
        out.append(
            f"minimumTlsVersion must be TLS1_2 or newer, not {props.get('minimumTlsVersion')!r}"
        )
    if props.get("allowBlobPublicAccess") is not False:
        out.append("allowBlobPublicAccess must be false (no anonymous reads)")
    return out


def key_vault_purge_protection(type_: str, props: Props) -> list[str]:
    if type_ != "azure-native:keyvault:Vault":
        return []
    out = []
    if get_path(props, "properties", "enablePurgeProtection") is not True:
        out.append("enablePurgeProtection must be true")
    if get_path(props, "properties", "enableSoftDelete") is False:
        out.append("enableSoftDelete must not be false")
    days = get_path(props, "properties", "softDeleteRetentionInDays")
    if days is None or float(days) < KEY_VAULT_SOFT_DELETE_DAYS:
        out.append(f"softDeleteRetentionInDays must be {KEY_VAULT_SOFT_DELETE_DAYS}, not {days}")
    if get_path(props, "properties", "enableRbacAuthorization") is not True:
        out.append("enableRbacAuthorization must be true (no access policies)")
    return out


def no_public_ip(type_: str, props: Props) -> list[str]:
    if type_ == "azure-native:network:PublicIPAddress":
        name = str(props.get("publicIpAddressName") or "")
        # The NAT gateways' addresses are outbound only (naming.NAT_GATEWAY_PUBLIC_IP_PREFIX).
        allowed = (naming.VPN_GATEWAY_PUBLIC_IP_PREFIX, naming.NAT_GATEWAY_PUBLIC_IP_PREFIX)
        if not name.startswith(allowed):
            return [
                f"public IP {name or '(unnamed)'!r} is neither the VPN gateway's nor a NAT "
                f"gateway's (names start with {' or '.join(repr(a) for a in allowed)})"
            ]
        return []
    if type_ == "azure-native:network:NetworkInterface":
        for cfg in props.get("ipConfigurations") or []:
            if isinstance(cfg, Mapping) and cfg.get("publicIPAddress"):
                return ["network interfaces must not have a public IP"]
    return []


def backup_versioning(type_: str, props: Props) -> list[str]:
    if type_ != "azure-native:storage:BlobServiceProperties":
        return []
    out = []
    if props.get("isVersioningEnabled") is not True:
        out.append("blob versioning must be on")
    for key in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        policy = props.get(key)
        enabled = isinstance(policy, Mapping) and policy.get("enabled") is True
        days = policy.get("days") if isinstance(policy, Mapping) else None
        if not enabled or days is None or float(days) < MIN_SOFT_DELETE_DAYS:
            out.append(f"{key} must be enabled with at least {MIN_SOFT_DELETE_DAYS} days")
    return out


def conditioned_role_admins(type_: str, props: Props) -> list[str]:
    if type_ != "azure-native:authorization:RoleAssignment":
        return []
    role = str(props.get("roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
    if role == _OWNER:
        return ["the stacks never assign Owner; an Owner grants it by hand"]
    if role in _ROLE_GRANTING and not props.get("condition"):
        return [
            f"{_ROLE_GRANTING[role]} without an ABAC condition could grant itself Owner; "
            "limit it to the roles and principal types the stacks assign"
        ]
    return []


POLICIES: tuple[Policy, ...] = (
    Policy(
        "mandatory-tags",
        "Every taggable Azure resource carries the owner and cost tags.",
        mandatory_tags,
    ),
    Policy("allowed-locations", "Resources stay in norwayeast or norwaywest.", allowed_locations),
    Policy(
        "secure-storage",
        "Storage accounts: HTTPS only, TLS 1.2+, no anonymous blob access.",
        secure_storage,
    ),
    Policy(
        "key-vault-purge-protection",
        "Key Vaults: purge protection, 90-day soft delete, RBAC authorization.",
        key_vault_purge_protection,
    ),
    Policy(
        "no-public-ip",
        "No public IP address except the VPN gateway's and the NAT gateways' (outbound only).",
        no_public_ip,
    ),
    Policy(
        "conditioned-role-admins",
        "Role-granting roles carry an ABAC condition; Owner is never assigned.",
        conditioned_role_admins,
    ),
    Policy(
        "backup-versioning-soft-delete",
        "Blob services: versioning and 30+ day blob and container soft delete.",
        backup_versioning,
    ),
)


def check(type_: str, props: Props) -> list[Violation]:
    """Every violation of every policy by one resource."""
    return [
        Violation(p.name, message, p.enforcement)
        for p in POLICIES
        for message in p.check(type_, props)
    ]
