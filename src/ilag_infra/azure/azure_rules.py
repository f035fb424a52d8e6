"""Azure's own rules: constraints Azure enforces at `pulumi up` that Pulumi mocks cannot know.

Each rule names the documentation page that states it and reports the resource, the property,
what is wrong and the fix. Per-resource rules are plain functions of (type, wire-name inputs),
like the policies, so `ilag plan` and the policy pack run the same code. Plan rules look at
all resources of one or more planned stacks at once (tunnel count per gateway, subnets that
resolver endpoints use, names that must be unique in the tenant or worldwide).

Values a preview does not know yet (unknown outputs, secrets) are never guessed. Where a rule
cannot decide without one, it returns an "unknown until apply" finding (`unknown=True`), which
the plan reports without failing; elsewhere the value is skipped. Nothing here imports Pulumi.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ilag_infra.azure import ip_rules, vpn_skus
from ilag_infra.azure.policies import get_path as _get
from ilag_infra.model.secrets import MASK

Props = Mapping[str, Any]
# What the offline plan puts where a value is not known or is secret.
_OPAQUE = ("[unknown]", MASK)

NAME_RULES_DOC = (
    "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules"
)
TAGS_DOC = (
    "https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations"
)
GATEWAY_SUBNET_DOC = (
    "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsub"
)
RESOLVER_SUBNET_DOC = (
    "https://learn.microsoft.com/azure/dns/dns-private-resolver-overview#subnet-restrictions"
)
KV_SOFT_DELETE_DOC = "https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview"
BLOB_SOFT_DELETE_DOC = "https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview"
BACKUP_RETENTION_DOC = (
    "https://learn.microsoft.com/azure/backup/backup-support-matrix-iaas#vm-backup-policy"
)
IMMUTABILITY_VERSIONING_DOC = (
    "https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies"
    "#version-dependency"
)
IMMUTABILITY_INTERVAL_DOC = (
    "https://learn.microsoft.com/azure/storage/blobs/immutable-time-based-retention-policy-overview"
    "#retention-interval-for-a-time-based-policy"
)
ROLE_ASSIGNMENT_DOC = (
    "https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template#name"
)

PEERING_DOC = (
    "https://learn.microsoft.com/rest/api/virtualnetwork/virtual-network-peerings/create-or-update"
)
PRIVATE_DNS_DOC = "https://learn.microsoft.com/azure/private-link/private-endpoint-dns-integration"
DEFAULT_OUTBOUND_DOC = (
    "https://learn.microsoft.com/azure/virtual-network/ip-services/default-outbound-access"
)

RESOLVER_DELEGATION = "Microsoft.Network/dnsResolvers"
# Where the network stack records a VNet's egress decision (ARM subnets carry no tags):
# egress: nat-gateway | none (none: the whole VNet has no internet egress, by decision), and
# egress-none-subnets: space-separated subnets of the VNet without egress by design.
EGRESS_TAG = "egress"
EGRESS_NONE = "none"
EGRESS_NONE_SUBNETS_TAG = "egress-none-subnets"


@dataclass(frozen=True)
class Finding:
    """One breach of a rule by one resource."""

    prop: str  # the input property, dotted
    problem: str
    fix: str
    unknown: bool = False  # the rule needs a value that only apply will know


UNKNOWN_FIX = "check again after `pulumi up`, or in `ilag plan` (not preview)"


@dataclass(frozen=True)
class Rule:
    name: str
    doc: str
    description: str
    check: Callable[[str, Props], list[Finding]]


@dataclass(frozen=True)
class PlannedResource:
    """What a plan rule needs of a resource: where it comes from, its type, name and inputs,
    and the URNs it waits for (explicit depends_on and the resources its inputs come from)."""

    stack: str
    urn: str
    type: str
    name: str
    inputs: Props
    dependencies: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleViolation:
    rule: str
    doc: str
    stack: str
    urn: str
    type: str
    name: str
    prop: str  # the input property, dotted
    problem: str
    fix: str
    unknown: bool = False

    @property
    def message(self) -> str:
        if self.unknown:
            return f"{self.prop}: unknown until apply: {self.problem} ({self.doc})"
        return f"{self.prop}: {self.problem}; fix: {self.fix} ({self.doc})"


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value in _OPAQUE)


def _unknown(value: Any) -> bool:
    """A value the preview has not computed yet (secrets are known to Azure, only masked here)."""
    return isinstance(value, str) and value == _OPAQUE[0]


def _is(type_: str, *classes: str) -> bool:
    return type_.startswith("azure-native:") and type_.rsplit(":", 1)[-1] in classes


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# --- names ----------------------------------------------------------------------------------

_STORAGE_NAME = re.compile(r"[a-z0-9]{3,24}")
_KEY_VAULT_NAME = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{1,22}[A-Za-z0-9]")
# Letters and digits here include Unicode letters and digits, as the docs allow.
_RG_NAME = re.compile(r"[\w().-]{1,90}", re.UNICODE)
# Public IPs, VNets, subnets, NSGs: 1-80, alphanumerics, underscores, periods, hyphens;
# start alphanumeric, end alphanumeric or underscore.
_NETWORK_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?")

_NETWORK_NAME_KEYS = {
    "PublicIPAddress": "publicIpAddressName",
    "VirtualNetwork": "virtualNetworkName",
    "Subnet": "subnetName",
    "NetworkSecurityGroup": "networkSecurityGroupName",
}


def storage_account_name(type_: str, props: Props) -> list[Finding]:
    if not _is(type_, "StorageAccount") or not type_.startswith("azure-native:storage:"):
        return []
    name = props.get("accountName")
    if not _known(name) or _STORAGE_NAME.fullmatch(str(name)):
        return []
    return [
        Finding(
            "accountName",
            f"{name!r} is not 3-24 lowercase letters and digits",
            "drop hyphens, capitals and other characters and keep it at most 24 long",
        )
    ]


def key_vault_name(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:keyvault:Vault":
        return []
    name = props.get("vaultName")
    if not _known(name) or _KEY_VAULT_NAME.fullmatch(str(name)):
        return []
    return [
        Finding(
            "vaultName",
            f"{name!r} is not 3-24 letters, digits and single hyphens, starting with a letter "
            "and ending with a letter or digit",
            "shorten it or change the characters (names come from model/naming.py)",
        )
    ]


def resource_group_name(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:resources:ResourceGroup":
        return []
    name = props.get("resourceGroupName")
    if not _known(name):
        return []
    text = str(name)
    if _RG_NAME.fullmatch(text) and not text.endswith("."):
        return []
    return [
        Finding(
            "resourceGroupName",
            f"{text!r} is not 1-90 letters, digits, underscores, hyphens, periods or "
            "parentheses, or it ends with a period",
            "use only those characters and do not end with a period",
        )
    ]


def network_names(type_: str, props: Props) -> list[Finding]:
    if not type_.startswith("azure-native:network:"):
        return []
    key = _NETWORK_NAME_KEYS.get(type_.rsplit(":", 1)[-1])
    name = props.get(key) if key else None
    if not key or not _known(name) or _NETWORK_NAME.fullmatch(str(name)):
        return []
    return [
        Finding(
            key,
            f"{name!r} is not 1-80 letters, digits, underscores, periods and hyphens, "
            "starting with a letter or digit and ending with a letter, digit or underscore",
            "change the name (names come from model/naming.py)",
        )
    ]


# --- tags -----------------------------------------------------------------------------------

MAX_TAGS = 50
MAX_TAG_NAME = 512
MAX_STORAGE_TAG_NAME = 128
MAX_TAG_VALUE = 256
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")


def tag_limits(type_: str, props: Props) -> list[Finding]:
    tags = props.get("tags")
    if not type_.startswith("azure-native:") or not isinstance(tags, Mapping):
        return []
    out = []
    if len(tags) > MAX_TAGS:
        out.append(
            Finding("tags", f"{len(tags)} tags, Azure takes at most {MAX_TAGS}", "drop some tags")
        )
    name_limit = MAX_STORAGE_TAG_NAME if _is(type_, "StorageAccount") else MAX_TAG_NAME
    for key, value in tags.items():
        if len(str(key)) > name_limit:
            out.append(
                Finding(
                    f"tags.{key}",
                    f"tag name is {len(str(key))} characters, at most {name_limit} here",
                    "shorten the tag name",
                )
            )
        if _TAG_NAME_FORBIDDEN.search(str(key)):
            out.append(
                Finding(
                    f"tags.{key}",
                    "tag name contains one of < > % & \\ ? /",
                    "rename the tag without those characters",
                )
            )
        if _known(value) and len(str(value)) > MAX_TAG_VALUE:
            out.append(
                Finding(
                    f"tags.{key}",
                    f"tag value is {len(str(value))} characters, at most {MAX_TAG_VALUE}",
                    "shorten the value",
                )
            )
    return out


# --- storage firewall -----------------------------------------------------------------------


def storage_ip_rules(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:storage:StorageAccount":
        return []
    out = []
    for i, rule in enumerate(_get(props, "networkRuleSet", "ipRules") or []):
        # Pulumi's wire name for ARM's `value` is iPAddressOrRange.
        value = (
            rule.get("iPAddressOrRange", rule.get("value")) if isinstance(rule, Mapping) else None
        )
        if not _known(value):
            continue
        problem = ip_rules.storage_value_problem(str(value))
        if problem:
            out.append(
                Finding(
                    f"networkRuleSet.ipRules[{i}]",
                    problem,
                    "list public IPv4 addresses bare (a /31 as its two addresses) and wider "
                    "ranges as CIDR in ilag:storageAllowedIps",
                )
            )
    return out


# --- VPN gateway ----------------------------------------------------------------------------


def vpn_sku_generation(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:network:VirtualNetworkGateway" or props.get("gatewayType") != "Vpn":
        return []
    sku = _get(props, "sku", "name")
    generation = props.get("vpnGatewayGeneration")
    if not _known(sku) or not _known(generation):
        return []
    known = vpn_skus.SKUS.get(str(sku))
    if known is None:
        return [
            Finding(
                "sku.name",
                f"{sku!r} is not a VPN gateway SKU",
                f"use one of {', '.join(vpn_skus.SKUS)}",
            )
        ]
    if generation not in known.generations:
        return [
            Finding(
                "vpnGatewayGeneration",
                f"{sku} exists only as {' or '.join(known.generations)}, not {generation}",
                f"declare {known.generation} for {sku}, or pick a SKU offered in {generation}",
            )
        ]
    return []


def gateway_subnet(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:network:Subnet" or props.get("subnetName") != "GatewaySubnet":
        return []
    out = []
    prefix = props.get("addressPrefix")
    if _known(prefix):
        try:
            net = ipaddress.ip_network(str(prefix), strict=False)
        except ValueError:
            net = None
        if net is not None and net.prefixlen > 27:
            out.append(
                Finding(
                    "addressPrefix",
                    f"GatewaySubnet {prefix} is smaller than /27",
                    "give region.yaml hub.subnets.gateway a /27 or larger",
                )
            )
    if props.get("networkSecurityGroup"):
        out.append(
            Finding(
                "networkSecurityGroup",
                "an NSG on GatewaySubnet is not supported and can stop the gateway working",
                "leave GatewaySubnet without an NSG",
            )
        )
    if props.get("routeTable"):
        out.append(
            Finding(
                "routeTable",
                "a route table on GatewaySubnet breaks the gateway if it sends 0.0.0.0/0 "
                "elsewhere or stops gateway route propagation",
                "leave GatewaySubnet without a route table",
            )
        )
    return out


# --- retention ranges -----------------------------------------------------------------------


def _range(value: Any, low: int, high: int, prop: str, what: str) -> list[Finding]:
    if _unknown(value):
        problem = f"{what} is not known, so {low}-{high} is not checked"
        return [Finding(prop, problem, UNKNOWN_FIX, True)]
    number = _number(value)
    if number is None or low <= number <= high:
        return []
    return [Finding(prop, f"{what} {value:g} is outside {low}-{high}", f"use {low} to {high}")]


def key_vault_soft_delete(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:keyvault:Vault":
        return []
    return _range(
        _get(props, "properties", "softDeleteRetentionInDays"),
        7,
        90,
        "properties.softDeleteRetentionInDays",
        "soft-delete retention (days)",
    )


def blob_soft_delete(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:storage:BlobServiceProperties":
        return []
    out = []
    for key in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        out += _range(_get(props, key, "days"), 1, 365, f"{key}.days", "retention (days)")
    return out


# Azure VM backup policy: documented limits per schedule.
VM_RETENTION_LIMITS = {
    "dailySchedule": (7, 9999, "days"),
    "weeklySchedule": (1, 5163, "weeks"),
    "monthlySchedule": (1, 1188, "months"),
    "yearlySchedule": (1, 99, "years"),
}


def vm_backup_retention(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:recoveryservices:ProtectionPolicy":
        return []
    if _get(props, "properties", "backupManagementType") != "AzureIaasVM":
        return []
    out = []
    retention = _get(props, "properties", "retentionPolicy") or {}
    for key, (low, high, unit) in VM_RETENTION_LIMITS.items():
        count = _get(retention, key, "retentionDuration", "count")
        out += _range(
            count,
            low,
            high,
            f"properties.retentionPolicy.{key}.retentionDuration.count",
            f"{key[: -len('Schedule')]} retention ({unit})",
        )
    out += _range(
        _get(props, "properties", "instantRpRetentionRangeInDays"),
        1,
        5,
        "properties.instantRpRetentionRangeInDays",
        "instant restore retention (days)",
    )
    return out


MAX_IMMUTABILITY_DAYS = 146_000


def immutability_interval(type_: str, props: Props) -> list[Finding]:
    """Time-based retention: 1 to 146,000 days, for a container's default policy and an
    account's default version-level policy alike."""
    if type_ == "azure-native:storage:BlobContainerImmutabilityPolicy":
        prop = "immutabilityPeriodSinceCreationInDays"
        value = props.get(prop)
        if value is None:
            return [Finding(prop, "no retention interval", "set 1 to 146000 days")]
    elif type_ == "azure-native:storage:StorageAccount":
        prop = "immutableStorageWithVersioning.immutabilityPolicy"
        value = _get(props, *prop.split("."), "immutabilityPeriodSinceCreationInDays")
        prop += ".immutabilityPeriodSinceCreationInDays"
    else:
        return []
    return _range(value, 1, MAX_IMMUTABILITY_DAYS, prop, "immutability period (days)")


def role_assignment_guid(type_: str, props: Props) -> list[Finding]:
    if type_ != "azure-native:authorization:RoleAssignment":
        return []
    name = props.get("roleAssignmentName")
    if not _known(name):
        return []
    if re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", str(name)):
        return []
    return [
        Finding(
            "roleAssignmentName",
            f"{name!r} is not a GUID",
            "name it roles.assignment_name(scope, role definition id, principal id)",
        )
    ]


RULES: tuple[Rule, ...] = (
    Rule(
        "azure-storage-ip-rules",
        ip_rules.STORAGE_DOC,
        "Storage firewall ipRules: public IPv4 only, single addresses bare, no /31 or /32.",
        storage_ip_rules,
    ),
    Rule(
        "azure-vpn-sku-generation",
        vpn_skus.DOC,
        "A VPN gateway's SKU exists in the declared generation.",
        vpn_sku_generation,
    ),
    Rule(
        "azure-gateway-subnet",
        GATEWAY_SUBNET_DOC,
        "GatewaySubnet is /27 or larger, with no NSG and no route table.",
        gateway_subnet,
    ),
    Rule(
        "azure-storage-account-name",
        NAME_RULES_DOC + "#microsoftstorage",
        "Storage account names: 3-24 lowercase letters and digits.",
        storage_account_name,
    ),
    Rule(
        "azure-key-vault-name",
        NAME_RULES_DOC + "#microsoftkeyvault",
        "Key vault names: 3-24 letters, digits, single hyphens; start with a letter.",
        key_vault_name,
    ),
    Rule(
        "azure-resource-group-name",
        NAME_RULES_DOC + "#microsoftresources",
        "Resource group names: 1-90 of letters, digits, _ - . ( ); not ending with a period.",
        resource_group_name,
    ),
    Rule(
        "azure-network-names",
        NAME_RULES_DOC + "#microsoftnetwork",
        "Public IP, VNet, subnet and NSG names: 1-80 of letters, digits, _ . -.",
        network_names,
    ),
    Rule(
        "azure-tag-limits",
        TAGS_DOC,
        "At most 50 tags; names ≤512 (storage ≤128) without < > % & \\ ? /; values ≤256.",
        tag_limits,
    ),
    Rule(
        "azure-key-vault-soft-delete-range",
        KV_SOFT_DELETE_DOC,
        "Key Vault soft-delete retention is 7-90 days.",
        key_vault_soft_delete,
    ),
    Rule(
        "azure-blob-soft-delete-range",
        BLOB_SOFT_DELETE_DOC,
        "Blob and container soft-delete retention is 1-365 days.",
        blob_soft_delete,
    ),
    Rule(
        "azure-vm-backup-retention-range",
        BACKUP_RETENTION_DOC,
        "VM backup retention: daily 7-9999, weekly 1-5163, monthly 1-1188, yearly 1-99.",
        vm_backup_retention,
    ),
    Rule(
        "azure-immutability-interval",
        IMMUTABILITY_INTERVAL_DOC,
        "A time-based retention (WORM) interval is 1-146000 days.",
        immutability_interval,
    ),
    Rule(
        "azure-role-assignment-guid",
        ROLE_ASSIGNMENT_DOC,
        "Role assignment names are GUIDs.",
        role_assignment_guid,
    ),
)


def check(type_: str, props: Props) -> list[tuple[Rule, Finding]]:
    """Every breach of every per-resource rule by one resource."""
    return [(rule, f) for rule in RULES for f in rule.check(type_, props)]


# --- plan rules: several resources at once --------------------------------------------------

PLAN_RULE_DOCS = {
    "azure-vpn-tunnel-capacity": vpn_skus.DOC,
    "azure-resolver-subnets": RESOLVER_SUBNET_DOC,
    "azure-role-assignment-unique": ROLE_ASSIGNMENT_DOC,
    "azure-globally-unique-names": NAME_RULES_DOC,
    "azure-immutability-needs-versioning": IMMUTABILITY_VERSIONING_DOC,
    "azure-peering-gateway-transit-order": PEERING_DOC,
    "azure-private-dns-every-vnet": PRIVATE_DNS_DOC,
    "azure-subnet-egress": DEFAULT_OUTBOUND_DOC,
}


def _violation(
    rule: str, res: PlannedResource, finding: Finding, doc: str | None = None
) -> RuleViolation:
    return RuleViolation(
        rule,
        doc or PLAN_RULE_DOCS[rule],
        res.stack,
        res.urn,
        res.type,
        res.name,
        finding.prop,
        finding.problem,
        finding.fix,
        finding.unknown,
    )


def _tail(resource_id: Any) -> str | None:
    return str(resource_id).rstrip("/").rsplit("/", 1)[-1] if _known(resource_id) else None


def vpn_tunnel_capacity(resources: list[PlannedResource]) -> list[RuleViolation]:
    gateways = {
        str(r.inputs.get("virtualNetworkGatewayName")): r
        for r in resources
        if r.type == "azure-native:network:VirtualNetworkGateway"
    }
    tunnels: dict[str, int] = defaultdict(int)
    unplaced = 0  # connections whose gateway id a preview does not know yet
    for r in resources:
        if r.type == "azure-native:network:VirtualNetworkGatewayConnection":
            gw_name = _tail(_get(r.inputs, "virtualNetworkGateway1", "id"))
            if gw_name:
                # Active-standby: one tunnel per site-to-site connection.
                tunnels[gw_name] += 1
            else:
                unplaced += 1
    out = []
    if unplaced and len(gateways) == 1:
        # The plan's only gateway is the one they can use: count them there.
        tunnels[next(iter(gateways))] += unplaced
    elif unplaced:
        for gw in gateways.values():
            out.append(
                _violation(
                    "azure-vpn-tunnel-capacity",
                    gw,
                    Finding(
                        "sku.name",
                        f"{unplaced} connections name a gateway id that is not known yet",
                        UNKNOWN_FIX,
                        True,
                    ),
                )
            )
    for name, gw in gateways.items():
        sku = vpn_skus.SKUS.get(str(_get(gw.inputs, "sku", "name")))
        if sku is None or tunnels[name] <= sku.s2s_tunnels:
            continue
        bigger = vpn_skus.smallest_for(tunnels[name], sku.zone_redundant)
        out.append(
            _violation(
                "azure-vpn-tunnel-capacity",
                gw,
                Finding(
                    "sku.name",
                    f"{tunnels[name]} site-to-site connections, {sku.name} takes at most "
                    f"{sku.s2s_tunnels}",
                    f"set ilag:vpnGatewaySku to {bigger}" if bigger else "use Azure Virtual WAN",
                ),
            )
        )
    return out


def resolver_subnets(resources: list[PlannedResource]) -> list[RuleViolation]:
    subnets = {
        str(r.inputs.get("subnetName")): r
        for r in resources
        if r.type == "azure-native:network:Subnet"
    }
    used: list[tuple[PlannedResource, str | None]] = []
    for r in resources:
        if r.type == "azure-native:dnsresolver:InboundEndpoint":
            for cfg in r.inputs.get("ipConfigurations") or []:
                used.append((r, _tail(_get(cfg, "subnet", "id"))))
        elif r.type == "azure-native:dnsresolver:OutboundEndpoint":
            used.append((r, _tail(_get(r.inputs, "subnet", "id"))))
    out = []
    for endpoint, used_name in used:
        if used_name is None:
            out.append(
                _violation(
                    "azure-resolver-subnets",
                    endpoint,
                    Finding(
                        "subnet.id",
                        "the endpoint's subnet id is not known, so its size and delegation "
                        "are not checked",
                        UNKNOWN_FIX,
                        True,
                    ),
                )
            )
            continue
        subnet = subnets.get(used_name)
        if subnet is None:
            continue
        delegations = [
            d.get("serviceName")
            for d in subnet.inputs.get("delegations") or []
            if isinstance(d, Mapping)
        ]
        if delegations != [RESOLVER_DELEGATION]:
            out.append(
                _violation(
                    "azure-resolver-subnets",
                    subnet,
                    Finding(
                        "delegations",
                        f"used by {endpoint.name} but delegated to {delegations or 'nothing'}",
                        f"delegate it to {RESOLVER_DELEGATION} only",
                    ),
                )
            )
        prefix = subnet.inputs.get("addressPrefix")
        if _known(prefix):
            net = ipaddress.ip_network(str(prefix), strict=False)
            if not 24 <= net.prefixlen <= 28:
                out.append(
                    _violation(
                        "azure-resolver-subnets",
                        subnet,
                        Finding(
                            "addressPrefix",
                            f"{prefix} for a resolver endpoint; Azure takes /28 to /24",
                            "size the resolver subnets (dns_inbound) between /28 and /24",
                        ),
                    )
                )
    return out


def _duplicates(
    resources: Iterable[PlannedResource], rule: str, type_: str, key: str, scope: str
) -> list[RuleViolation]:
    seen: dict[str, PlannedResource] = {}
    out = []
    for r in resources:
        if r.type != type_:
            continue
        value = r.inputs.get(key)
        if _unknown(value):
            out.append(
                _violation(
                    rule,
                    r,
                    Finding(
                        key,
                        f"the name is not known, so its uniqueness {scope} is not checked",
                        UNKNOWN_FIX,
                        True,
                    ),
                )
            )
            continue
        if not _known(value):
            continue
        norm = str(value).lower()
        first = seen.setdefault(norm, r)
        if first is not r:
            out.append(
                _violation(
                    rule,
                    r,
                    Finding(
                        key,
                        f"{value!r} is also the name of {first.name} in stack {first.stack}; "
                        f"Azure needs it unique {scope}",
                        "derive the name from what differs (environment, scope, principal)",
                    ),
                )
            )
    return out


def unique_names(resources: list[PlannedResource]) -> list[RuleViolation]:
    return (
        _duplicates(
            resources,
            "azure-role-assignment-unique",
            "azure-native:authorization:RoleAssignment",
            "roleAssignmentName",
            "in the tenant",
        )
        + _duplicates(
            resources,
            "azure-globally-unique-names",
            "azure-native:storage:StorageAccount",
            "accountName",
            "worldwide",
        )
        + _duplicates(
            resources,
            "azure-globally-unique-names",
            "azure-native:keyvault:Vault",
            "vaultName",
            "worldwide",
        )
    )


def _account_key(inputs: Props) -> tuple[str, str] | None:
    account, group = inputs.get("accountName"), inputs.get("resourceGroupName")
    if not _known(account) or not _known(group):
        return None
    return str(account).lower(), str(group).lower()


def immutability_needs_versioning(resources: list[PlannedResource]) -> list[RuleViolation]:
    """A container with version-level immutability needs blob versioning on its account: the
    account's blob service enables it, or account-level immutability (which turns it on)."""
    versioned: set[tuple[str, str]] = set()
    unknown_accounts = False
    for r in resources:
        if r.type == "azure-native:storage:BlobServiceProperties":
            key = _account_key(r.inputs)
            if key is None:
                unknown_accounts = True
            elif r.inputs.get("isVersioningEnabled") is True:
                versioned.add(key)
        elif r.type == "azure-native:storage:StorageAccount":
            key = _account_key(r.inputs)
            if key and _get(r.inputs, "immutableStorageWithVersioning", "enabled") is True:
                versioned.add(key)
    out = []
    for r in resources:
        if r.type != "azure-native:storage:BlobContainer":
            continue
        if _get(r.inputs, "immutableStorageWithVersioning", "enabled") is not True:
            continue
        key = _account_key(r.inputs)
        if key is None or (key not in versioned and unknown_accounts):
            finding = Finding(
                "immutableStorageWithVersioning.enabled",
                "the storage account is not known, so its blob versioning is not checked",
                UNKNOWN_FIX,
                True,
            )
        elif key not in versioned:
            finding = Finding(
                "immutableStorageWithVersioning.enabled",
                f"version-level immutability on a container of {key[0]}, which does not "
                "version blobs",
                "declare BlobServiceProperties with isVersioningEnabled: true for the account, "
                "and make the container depend on it",
            )
        else:
            continue
        out.append(_violation("azure-immutability-needs-versioning", r, finding))
    return out


# --- network: peering order, DNS for every VNet, declared egress -----------------------------

PEERING = "azure-native:network:VirtualNetworkPeering"
VNET = "azure-native:network:VirtualNetwork"


def _lower(value: Any) -> str | None:
    return str(value).lower() if _known(value) else None


def _waits_for(res: PlannedResource, by_urn: Mapping[str, PlannedResource], type_: str) -> Any:
    """The one resource of a type that res depends on, or None: in a preview a reference by id
    is unknown, but the dependency it makes is known."""
    found = [by_urn[d] for d in res.dependencies if d in by_urn and by_urn[d].type == type_]
    return found[0] if len(found) == 1 else None


def peering_gateway_transit_order(resources: list[PlannedResource]) -> list[RuleViolation]:
    """A peering that uses the remote VNet's gateway waits for the remote side's peering that
    offers it. useRemoteGateways works only "if the flag is set to true, and
    allowGatewayTransit on remote peering is also true"; created first, ARM refuses it:
    "Peering-to-Gateway cannot have UseRemoteGateways flag set to true, because corresponding
    remote peering has AllowGatewayTransit flag set to false". Nothing in the inputs links the
    two peerings, so only an explicit dependency orders them."""
    rule = "azure-peering-gateway-transit-order"
    peerings = [r for r in resources if r.type == PEERING]
    offers = [r for r in peerings if r.inputs.get("allowGatewayTransit") is True]
    out = []
    for p in peerings:
        if p.inputs.get("useRemoteGateways") is not True:
            continue
        local = _lower(p.inputs.get("virtualNetworkName"))
        remote = _tail(_get(p.inputs, "remoteVirtualNetwork", "id"))
        remote = remote.lower() if remote else None

        def pairs(
            q: PlannedResource, local: str | None = local, remote: str | None = remote
        ) -> bool | None:
            """q is p's remote side: True, False, or None when a name is not known yet."""
            q_local = _lower(q.inputs.get("virtualNetworkName"))
            q_remote = _tail(_get(q.inputs, "remoteVirtualNetwork", "id"))
            if None in (local, remote, q_local, q_remote):
                return None
            return q_local == remote and str(q_remote).lower() == local

        waited = [q for q in offers if q.urn in p.dependencies]
        if any(pairs(q) is not False for q in waited):
            continue
        matching = [q for q in offers if pairs(q)]
        if matching:
            finding = Finding(
                "useRemoteGateways",
                f"does not depend on {matching[0].name}, the remote side that allows gateway "
                "transit; if it is created first Azure refuses it",
                f"declare it with depends_on=[{matching[0].name}]",
            )
        elif remote is None or local is None or any(pairs(q) is None for q in offers):
            finding = Finding(
                "useRemoteGateways",
                "the VNets are not known, so the remote peering it must wait for is not found",
                UNKNOWN_FIX,
                True,
            )
        else:
            finding = Finding(
                "useRemoteGateways",
                f"no peering from {remote} back to {local} with allowGatewayTransit: true",
                "declare the remote side's peering with allowGatewayTransit and depend on it",
            )
        out.append(_violation(rule, p, finding))
    return out


def private_dns_every_vnet(resources: list[PlannedResource]) -> list[RuleViolation]:
    """Every VNet resolves every privatelink zone: a link from the zone to it, or custom DNS
    servers that are all the resolver's inbound endpoints (which answer from the zones linked
    to the hub). Microsoft: "link the same private DNS zones to all spokes and hub virtual
    networks that contain clients that need DNS resolution from the zones"."""
    rule = "azure-private-dns-every-vnet"
    zones = {
        str(z.inputs.get("privateZoneName")).lower()
        for z in resources
        if z.type == "azure-native:privatedns:PrivateZone"
        and str(z.inputs.get("privateZoneName", "")).startswith("privatelink.")
    }
    if not zones:
        return []
    resolver_ips = {
        str(cfg.get("privateIpAddress"))
        for r in resources
        if r.type == "azure-native:dnsresolver:InboundEndpoint"
        for cfg in r.inputs.get("ipConfigurations") or []
        if isinstance(cfg, Mapping) and _known(cfg.get("privateIpAddress"))
    }
    by_urn = {r.urn: r for r in resources}
    linked: set[tuple[str, str]] = set()
    unknown_links = False
    for link in resources:
        if link.type != "azure-native:privatedns:VirtualNetworkLink":
            continue
        zone = _lower(link.inputs.get("privateZoneName"))
        if zone is None and (z := _waits_for(link, by_urn, "azure-native:privatedns:PrivateZone")):
            zone = _lower(z.inputs.get("privateZoneName"))
        vnet = _tail(_get(link.inputs, "virtualNetwork", "id"))
        if vnet is None and (v := _waits_for(link, by_urn, VNET)):
            vnet = _lower(v.inputs.get("virtualNetworkName"))
        if zone is None or vnet is None:
            unknown_links = True
            continue
        linked.add((zone, vnet.lower()))
    out = []
    for v in resources:
        name = _lower(v.inputs.get("virtualNetworkName")) if v.type == VNET else None
        if name is None:
            continue
        servers = _get(v.inputs, "dhcpOptions", "dnsServers") or []
        if servers and resolver_ips and all(str(s) in resolver_ips for s in servers):
            continue
        missing = sorted(z for z in zones if (z, name) not in linked)
        if not missing:
            continue
        if unknown_links:
            finding = Finding(
                "virtualNetworkName",
                f"zone links whose zone or VNet is not known yet may cover {', '.join(missing)}",
                UNKNOWN_FIX,
                True,
            )
        else:
            finding = Finding(
                "virtualNetworkName",
                f"VMs in {name} cannot resolve {', '.join(missing)}: no link from the zone to "
                "this VNet and no custom DNS pointing at the resolver's inbound endpoint, so "
                "private endpoint names resolve to public addresses the firewalls refuse",
                "link every privatelink zone to this VNet (registration disabled), or set its "
                "dhcpOptions.dnsServers to the resolver's inbound IP",
            )
        out.append(_violation(rule, v, finding))
    return out


def subnet_egress(resources: list[PlannedResource]) -> list[RuleViolation]:
    """A subnet without default outbound access has a declared egress: a NAT gateway, or the
    recorded decision that it has none (its VNet tagged egress: none, or the subnet listed in
    the VNet's egress-none-subnets tag). Without either, its VMs silently have no internet:
    default outbound access is what gives "virtual machines created in a virtual network
    without explicit outbound connectivity defined" an address, and "NAT gateway is the
    recommended approach to have explicit outbound connectivity"."""
    rule = "azure-subnet-egress"
    vnets = {
        str(v.inputs.get("virtualNetworkName")).lower(): v
        for v in resources
        if v.type == VNET and _known(v.inputs.get("virtualNetworkName"))
    }
    by_urn = {r.urn: r for r in resources}
    out = []
    for s in resources:
        if s.type != "azure-native:network:Subnet":
            continue
        if s.inputs.get("defaultOutboundAccess") is not False:
            continue
        if _get(s.inputs, "natGateway", "id"):
            continue  # a NAT gateway, even one whose id apply will tell
        vnet_name = s.inputs.get("virtualNetworkName")
        if not _known(vnet_name) and (v := _waits_for(s, by_urn, VNET)):
            vnet_name = v.inputs.get("virtualNetworkName")
        subnet_name = str(s.inputs.get("subnetName") or s.name)
        if not _known(vnet_name):
            out.append(
                _violation(
                    rule,
                    s,
                    Finding(
                        "natGateway",
                        "no NAT gateway, and its VNet is not known, so its egress decision is "
                        "not found",
                        UNKNOWN_FIX,
                        True,
                    ),
                )
            )
            continue
        vnet = vnets.get(str(vnet_name).lower())
        tags = (vnet.inputs.get("tags") if vnet else None) or {}
        if tags.get(EGRESS_TAG) == EGRESS_NONE:
            continue
        if subnet_name in str(tags.get(EGRESS_NONE_SUBNETS_TAG, "")).split():
            continue
        out.append(
            _violation(
                rule,
                s,
                Finding(
                    "natGateway",
                    f"defaultOutboundAccess is false and {subnet_name} has no NAT gateway: its "
                    "VMs have no internet egress, and no decision says so",
                    "set ilag:egress nat-gateway (a NAT gateway on the subnet), or record "
                    f"the decision: ilag:egress none (VNet tag {EGRESS_TAG}: {EGRESS_NONE}) or "
                    f"the subnet in the VNet's {EGRESS_NONE_SUBNETS_TAG} tag",
                ),
            )
        )
    return out


PLAN_RULES: tuple[Callable[[list[PlannedResource]], list[RuleViolation]], ...] = (
    vpn_tunnel_capacity,
    resolver_subnets,
    unique_names,
    immutability_needs_versioning,
    peering_gateway_transit_order,
    private_dns_every_vnet,
    subnet_egress,
)
RULE_NAMES: tuple[str, ...] = (
    tuple(r.name for r in RULES) + tuple(PLAN_RULE_DOCS) + ("azure-diagnostic-settings",)
)


def check_plan(resources: list[PlannedResource]) -> list[RuleViolation]:
    """Per-resource rules on each resource, then the rules that need several at once."""
    out = []
    for res in resources:
        for rule, finding in check(res.type, res.inputs):
            out.append(
                RuleViolation(
                    rule.name,
                    rule.doc,
                    res.stack,
                    res.urn,
                    res.type,
                    res.name,
                    finding.prop,
                    finding.problem,
                    finding.fix,
                    finding.unknown,
                )
            )
    for plan_rule in PLAN_RULES:
        out += plan_rule(resources)
    # Imported here, not at the top: monitoring_rules builds on this module's types.
    from ilag_infra.azure import monitoring_rules

    out += monitoring_rules.diagnostics_cover_protected(resources)
    return out
