"""Stack configuration: every key the stacks read, documented once, parsed into typed settings.

The key table below is the reference that the stack files in stacks/ and docs/operators.md
describe; a test checks that each key is documented in both. Config is validated before
any resource is declared, and every problem names the stack file, the key and the fix.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from ilag_infra.azure import ip_rules, secret_entries, vpn_skus
from ilag_infra.azure.roles import BUILTIN_ROLES
from ilag_infra.model import ca_age, placeholders
from ilag_infra.model.errors import InputError, Problem

NAMESPACE = "ilag"
STACK_KINDS = ("network", "identity", "backup")
AZ_GATEWAY_SKUS = vpn_skus.ZONE_REDUNDANT
# Azure: a time-based retention interval is 1 to 146,000 days (400 years).
MAX_IMMUTABILITY_DAYS = 146_000
# Vaulted blob backup keeps recovery points up to ten years.
MAX_COPY_DAYS = 3650
# Log Analytics (PerGB2018): workspace retention is 30 to 730 days; 31 are in the price.
LOG_RETENTION_DAYS = (30, 730)
DEFAULT_LOG_RETENTION_DAYS = 90
# How VMs in the hub and the spokes reach the internet (ilag:egress): a NAT gateway per VNet,
# or deliberately not at all. Subnets have default outbound access off either way.
EGRESS_NAT_GATEWAY = "nat-gateway"
EGRESS_NONE = "none"
EGRESS_CHOICES = (EGRESS_NAT_GATEWAY, EGRESS_NONE)
DEFAULT_EGRESS = EGRESS_NAT_GATEWAY
# Monthly budget per resource group in NOK: placeholders until the board agrees the figures.
DEFAULT_BUDGET_NOK = {"network": 10_000, "identity": 500, "backup": 5_000}
# One address: local@domain.tld, no spaces, no list. Azure verifies it by sending a message.
_EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}")


class StackConfigError(InputError):
    """A stack's configuration is missing a key or has a bad value."""


@dataclass(frozen=True)
class ConfigKey:
    """One config key: which stacks read it and what an operator needs to know to set it."""

    name: str
    stacks: tuple[str, ...]
    help: str
    secret: bool = False
    required: bool = False
    default: str | None = None

    @property
    def full(self) -> str:
        return f"{NAMESPACE}:{self.name}"


ALL = STACK_KINDS
KEYS: tuple[ConfigKey, ...] = (
    ConfigKey(
        "regionFile",
        ALL,
        "path of region.yaml, relative to the project root",
        default="region.yaml",
    ),
    ConfigKey(
        "environment",
        ALL,
        "environment in names and tags (lowercase, ≤12 chars)",
        default="the stack name's suffix (network-test → test), else prod",
    ),
    ConfigKey(
        "vpnSharedKeys",
        ("network",),
        "IPsec pre-shared key per municipality slug (or a mapping site → key for "
        "per-site keys); set each with `pulumi config set --secret --path "
        "'ilag:vpnSharedKeys.<slug>'`",
        secret=True,
        required=True,
    ),
    ConfigKey(
        "vpnGatewaySku",
        ("network",),
        f"zone-redundant VPN gateway SKU ({', '.join(AZ_GATEWAY_SKUS)})",
        default="VpnGw2AZ",
    ),
    ConfigKey(
        "resolverInboundIp",
        ("network",),
        "static address of the DNS resolver's inbound endpoint inside the dns_inbound "
        "subnet; on-site DNS servers forward the internal zone here",
        default="the subnet's first usable address (.4)",
    ),
    ConfigKey(
        "egress",
        ("network",),
        "internet egress of the VMs in the hub and the spokes: nat-gateway (one NAT gateway "
        "with a Standard public IP per VNet, outbound only) or none (no egress at all: updates "
        "come through an on-site proxy; see docs/operators.md)",
        default=DEFAULT_EGRESS,
    ),
    ConfigKey(
        "operatorsEmail",
        ("network",),
        "e-mail address of the regional operators; the one action group sends every alert "
        "and budget warning there",
        required=True,
    ),
    ConfigKey(
        "logRetentionDays",
        ("network",),
        "retention of the Log Analytics workspace, 30-730 days (31 are in the ingestion price)",
        default=str(DEFAULT_LOG_RETENTION_DAYS),
    ),
    ConfigKey(
        "monthlyBudgetNok",
        ALL,
        "monthly cost budget of the stack's resource group in NOK (the billing currency must "
        "be NOK); e-mails at 80 % and 100 % of it",
        default=", ".join(f"{k} {v}" for k, v in DEFAULT_BUDGET_NOK.items()),
    ),
    ConfigKey(
        "networkStack",
        ("identity", "backup"),
        "StackReference name of the network stack",
        default="organization/ilag/network[-<env suffix>]",
    ),
    ConfigKey(
        "identityStack",
        ("backup",),
        "StackReference name of the identity stack",
        default="organization/ilag/identity[-<env suffix>]",
    ),
    ConfigKey(
        "keyVaultAllowedIps",
        ("identity",),
        "public IPs/CIDRs (operators' and CI's egress) allowed through the Key Vault "
        "firewall; everything else reaches it only through its private endpoint",
        default="[] (private endpoint only)",
    ),
    ConfigKey(
        "operatorsGroupObjectId",
        ("identity",),
        "object id of the Entra ID group of the regional operators",
        required=True,
    ),
    ConfigKey(
        "operatorRoles",
        ("identity",),
        "built-in roles the operators' group gets on every platform resource group",
        default='["Contributor"]',
    ),
    ConfigKey(
        "githubOidcSubject",
        ("identity",),
        "subject of the CI's GitHub OIDC token that may act as the deploy identity, e.g. "
        "repo:<org>/<repo>:environment:prod",
        required=True,
    ),
    ConfigKey(
        "githubPreviewSubject",
        ("identity",),
        "subject of the OIDC token of pull-request previews (the read-only preview identity); "
        "default: the deploy subject's repository with :environment:preview",
    ),
    ConfigKey(
        "sshUserCaPublicKey",
        ("identity",),
        "OpenSSH public key line of the SSH user CA (its private key stays offline)",
        required=True,
    ),
    ConfigKey(
        "sshUserCaCreated",
        ("identity",),
        "the day each trusted CA key was made: its SHA256 fingerprint (ssh-keygen -lf) -> "
        "YYYY-MM-DD; a key without one is warned about, its age being unknown",
        default="{}",
    ),
    ConfigKey(
        "sshUserCaMaxAgeDays",
        ("identity",),
        "age in days at which a CA key should have been rotated; warnings start "
        "expiryWarningDays before",
        default="365",
    ),
    ConfigKey(
        "expiryWarningDays",
        ("backup", "identity"),
        "how many days ahead `ilag validate`, `ilag preflight` and the report warn before "
        "what the stack holds runs out or gets old (backup: the site SAS; identity: the CA "
        "keys and the node certificates they sign)",
        default="60",
    ),
    ConfigKey(
        "resticPasswords",
        ("backup",),
        "each municipality's restic repository password (vault_restic_password in its "
        "ansible-vault file), escrowed in Key Vault as restic-password-<slug>; set each with "
        "`pulumi config set --secret --path 'ilag:resticPasswords.<slug>' -s backup` "
        "(it prompts for the value)",
        secret=True,
        required=True,
    ),
    ConfigKey(
        "sasExpiry",
        ("backup",),
        "expiry of the per-municipality container SAS, UTC, e.g. 2027-01-31T00:00:00Z; "
        "re-run `pulumi up` with a later date to issue new ones",
        required=True,
    ),
    ConfigKey(
        "coolAfterDays",
        ("backup",),
        "days after last modification before backup blobs move to the Cool tier",
        default="30",
    ),
    ConfigKey(
        "deleteRetentionDays",
        ("backup",),
        "soft-delete retention for blobs and containers, at least 30 days",
        default="30",
    ),
    ConfigKey(
        "backupImmutabilityDays",
        ("backup",),
        "default version-level WORM retention of each municipality container, days; 0 (the "
        "default) declares no retention policy, because restic could then not remove its "
        "lock files and the central prune would stop (docs/operators.md)",
        default="0",
    ),
    ConfigKey(
        "backupCopyDays",
        ("backup",),
        "retention of the second copy, days: each backup container is copied daily into a "
        "locked Backup vault in its own resource group (docs/security.md); 0 declares no "
        "second copy, which `ilag plan` refuses while backupImmutabilityDays is 0",
        default="30",
    ),
    ConfigKey(
        "storageAllowedIps",
        ("backup",),
        "public IPs/CIDRs allowed through the storage firewall besides the private "
        "endpoint (sites reach blob storage over the VPN)",
        default="[]",
    ),
    ConfigKey(
        "vmBackupTimeUtc", ("backup",), "daily Azure VM backup time, HH:MM UTC", default="01:00"
    ),
    ConfigKey(
        "vmRetention",
        ("backup",),
        "GFS retention of VM backups: {daily: days, weekly: weeks, monthly: months, yearly: years}",
        default="{daily: 14, weekly: 8, monthly: 12, yearly: 7}",
    ),
)


def keys_for(kind: str) -> list[ConfigKey]:
    return [k for k in KEYS if kind in k.stacks]


def stack_kind(stack: str) -> tuple[str, str | None]:
    """('network', 'prod') for network-prod; the kind selects the program."""
    kind, _, suffix = stack.partition("-")
    if kind not in STACK_KINDS:
        raise StackConfigError(
            [
                Problem(
                    "Pulumi.yaml",
                    "stack name",
                    f"stack {stack!r} does not start with a known stack kind",
                    f"name the stack {' | '.join(STACK_KINDS)}, optionally with -<env>, e.g. network-prod",
                )
            ]
        )
    return kind, suffix or None


@dataclass(frozen=True)
class CommonSettings:
    stack: str
    kind: str
    environment: str
    region_file: Path


@dataclass(frozen=True)
class NetworkSettings:
    common: CommonSettings
    # (slug, site) → pre-shared key; values are secret Outputs, never plain strings.
    shared_keys: dict[tuple[str, str], pulumi.Output[str]]
    gateway_sku: str
    resolver_inbound_ip: str
    operators_email: str = ""
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    budget_nok: int = DEFAULT_BUDGET_NOK["network"]
    egress: str = DEFAULT_EGRESS


@dataclass(frozen=True)
class IdentitySettings:
    common: CommonSettings
    network_stack: str
    key_vault_allowed_ips: list[str]
    operators_group_object_id: str
    operator_roles: list[str]
    github_oidc_subject: str
    github_preview_subject: str
    ssh_user_ca_public_key: str
    budget_nok: int = DEFAULT_BUDGET_NOK["identity"]
    # The day each CA key was made, by fingerprint, and when it counts as old (warnings only).
    ssh_user_ca_created: dict[str, str] = field(default_factory=dict)
    ssh_user_ca_max_age_days: int = ca_age.DEFAULT_MAX_AGE_DAYS
    expiry_warning_days: int = 60


@dataclass(frozen=True)
class VmRetention:
    daily: int = 14
    weekly: int = 8
    monthly: int = 12
    yearly: int = 7


@dataclass(frozen=True)
class BackupSettings:
    common: CommonSettings
    network_stack: str
    identity_stack: str
    sas_expiry: str
    expiry_warning_days: int
    cool_after_days: int
    delete_retention_days: int
    storage_allowed_ips: list[str]
    vm_backup_time_utc: str
    vm_retention: VmRetention = field(default_factory=VmRetention)
    # 0: containers support version-level immutability but carry no default retention policy.
    immutability_days: int = 0
    # Retention of the vaulted second copy (backup_copy.py); 0: no second copy.
    copy_days: int = 30
    budget_nok: int = DEFAULT_BUDGET_NOK["backup"]
    # slug → restic repository password (escrowed in Key Vault); secret Outputs only.
    restic_passwords: dict[str, pulumi.Output[str]] = field(default_factory=dict)


class _Reader:
    """Reads ilag:* config and collects every problem before failing once."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.cfg = pulumi.Config(NAMESPACE)
        self.problems: list[Problem] = []
        self.file = f"stacks/Pulumi.{stack}.yaml"

    def bad(self, key: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, f"{NAMESPACE}:{key}", message, fix))

    def text(self, key: str, default: str | None = None) -> str:
        value = self.cfg.get(key)
        if value is None or value == "":
            if default is None:
                self.bad(
                    key,
                    "is not set",
                    f"pulumi config set {NAMESPACE}:{key} <value> -s {self.stack}",
                )
                return ""
            return default
        return value

    def obj(self, key: str, default: Any) -> Any:
        try:
            value = self.cfg.get_object(key)
        except (json.JSONDecodeError, ValueError, pulumi.ConfigTypeError):
            self.bad(
                key,
                "is not valid JSON/YAML structure",
                "set it with --path or as a YAML list/mapping in the stack file",
            )
            return default
        return default if value is None else value

    def integer(self, key: str, default: int, minimum: int) -> int:
        raw = self.cfg.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.bad(key, f"{raw!r} is not a whole number", "write a number of days")
            return default
        if value < minimum:
            self.bad(key, f"{value} is below the minimum {minimum}", f"use {minimum} or more")
        return value

    def bounded(self, key: str, default: int, low: int, high: int, unit: str) -> int:
        """A whole number in low..high; anything else is named with the accepted range."""
        raw = self.cfg.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.bad(key, f"{raw!r} is not a whole number", f"write a number of {unit}")
            return default
        if not low <= value <= high:
            self.bad(key, f"{value} is outside {low}-{high}", f"use {low} to {high} {unit}")
        return value

    def email(self, key: str) -> str:
        value = self.text(key).strip()
        if value and not _EMAIL.fullmatch(value):
            self.bad(
                key,
                f"{value!r} is not one e-mail address",
                "write one address like drift@ilag.no (a shared mailbox, not a list)",
            )
        return value

    def budget(self, kind: str) -> int:
        return self.bounded(
            "monthlyBudgetNok", DEFAULT_BUDGET_NOK[kind], 1, 100_000_000, "kroner per month"
        )

    def ip_list(self, key: str) -> list[str]:
        """Public IPv4 addresses or CIDRs, normalised (198.51.100.7/32 stays as written)."""
        value = self.obj(key, [])
        if not isinstance(value, list):
            self.bad(key, "must be a list of IPs or CIDRs", "write a YAML list")
            return []
        out = []
        for item in value:
            try:
                out.append(str(ipaddress.ip_network(str(item), strict=True)))
            except ValueError:
                self.bad(
                    key,
                    f"{item!r} is not an IPv4 address or CIDR",
                    "write e.g. 198.51.100.7 or 198.51.100.0/28",
                )
        return out

    def storage_ip_rules(self, key: str) -> list[str]:
        """ipRules values Azure Storage accepts: single addresses bare, /31 as two addresses,
        public IPv4 only (see ip_rules for the documented limits)."""
        value = self.obj(key, [])
        if not isinstance(value, list):
            self.bad(key, "must be a list of IPs or CIDRs", "write a YAML list")
            return []
        out: list[str] = []
        for item in value:
            try:
                values = ip_rules.storage_rule_values(str(item))
            except ip_rules.IpRuleError as exc:
                self.bad(
                    key,
                    str(exc),
                    "list public IPv4 egress addresses only, e.g. 198.51.100.7 or "
                    f"198.51.100.0/28 ({ip_rules.STORAGE_DOC})",
                )
                continue
            out.extend(v for v in values if v not in out)
        return out

    def uuid(self, key: str) -> str:
        value = self.text(key).strip()
        if not value:
            return ""
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            parsed = None
        # uuid.UUID also takes braces, "urn:uuid:" and bare hex; Entra shows the 8-4-4-4-12 form.
        if parsed is None or str(parsed) != value.lower():
            self.bad(
                key,
                f"{value!r} is not an object id (UUID like 8-4-4-4-12 hex digits)",
                "copy the group's Object ID from Entra ID",
            )
            return value.lower()
        return str(parsed)

    def secret_obj(self, key: str, root: Path | None = None) -> Any:
        """A secret object's plain value, refused unless it is stored encrypted (with root:
        each entry of it, as written in the stack file)."""
        full = f"{NAMESPACE}:{key}"
        if root is not None:
            shape = secret_entries.check_map(root / self.file, full, self.stack, "slug")
            if shape:
                self.problems.extend(shape)
                return None
        value = self.obj(key, None)
        if value is None:
            self.bad(
                key,
                "is not set",
                f"pulumi config set --secret --path '{full}.<slug>' <key> -s {self.stack}",
            )
            return None
        if not pulumi.runtime.is_config_secret(full):
            self.bad(
                key,
                "is stored in plain text in the stack file",
                f"remove it and set it again with `pulumi config set --secret --path "
                f"'{full}.<slug>' …`",
            )
            return None
        return value

    def done(self) -> None:
        if self.problems:
            raise StackConfigError(self.problems)


# The current user CA and, while rotating, the next one (and one spare for a failed rotation).
MAX_TRUSTED_CAS = 3


def ssh_public_key_problem(line: str) -> str | None:
    """Why this is not one OpenSSH public key line, or None; parsed, not pattern-matched."""
    if "PRIVATE KEY" in line:
        return "is a private key; only the public key belongs in config"
    if "\n" in line:
        return "holds more than one line; give exactly one public key"
    try:
        serialization.load_ssh_public_key(line.encode())
    except UnsupportedAlgorithm as exc:
        return f"is a key type this check does not know: {exc}"
    except ValueError as exc:
        return f"is not an OpenSSH public key line ({exc})"
    return None


def _common(r: _Reader, kind: str, suffix: str | None, root: Path) -> CommonSettings:
    environment = r.text("environment", suffix or "prod")
    if not re.fullmatch(r"[a-z][a-z0-9]{0,11}", environment):
        r.bad(
            "environment",
            f"{environment!r} is not 1-12 lowercase letters/digits",
            "use e.g. prod or test",
        )
    region_file = Path(r.text("regionFile", "region.yaml"))
    if not region_file.is_absolute():
        region_file = root / region_file
    return CommonSettings(r.stack, kind, environment, region_file)


def _upstream(r: _Reader, key: str, kind: str, suffix: str | None) -> str:
    default = f"organization/{pulumi.get_project()}/{kind}" + (f"-{suffix}" if suffix else "")
    return r.text(key, default)


def refuse_placeholders(stack: str, root: Path) -> None:
    """A production stack's file may not keep the shipped placeholders (model/placeholders.py):
    documentation addresses, zero object ids, the placeholder SSH CA key."""
    path = root / "stacks" / f"Pulumi.{stack}.yaml"
    if path.is_file():
        problems = placeholders.stack_file_problems(path, f"stacks/{path.name}")
        if problems:
            raise StackConfigError(problems)


def read_common(stack: str, root: Path) -> CommonSettings:
    kind, suffix = stack_kind(stack)
    r = _Reader(stack)
    common = _common(r, kind, suffix, root)
    r.done()
    return common


def read_network(
    stack: str, root: Path, sites: dict[str, list[str]], inbound_subnet: ipaddress.IPv4Network
) -> NetworkSettings:
    """Network settings; `sites` is slug → site names from region.yaml."""
    kind, suffix = stack_kind(stack)
    r = _Reader(stack)
    common = _common(r, kind, suffix, root)
    sku = r.text("vpnGatewaySku", "VpnGw2AZ")
    tunnels = sum(len(names) for names in sites.values())
    if sku not in AZ_GATEWAY_SKUS:
        r.bad(
            "vpnGatewaySku",
            f"{sku!r} is not a zone-redundant (AZ) VPN gateway SKU",
            f"use one of {', '.join(AZ_GATEWAY_SKUS)}",
        )
    elif tunnels > vpn_skus.SKUS[sku].s2s_tunnels:
        bigger = vpn_skus.smallest_for(tunnels)
        r.bad(
            "vpnGatewaySku",
            f"{sku} takes at most {vpn_skus.SKUS[sku].s2s_tunnels} site-to-site tunnels, "
            f"region.yaml has {tunnels} sites ({vpn_skus.DOC})",
            f"use {bigger}" if bigger else "more than 100 tunnels need Azure Virtual WAN",
        )
    default_ip = str(inbound_subnet.network_address + 4)  # Azure keeps .0-.3 for itself
    inbound_ip = r.text("resolverInboundIp", default_ip)
    try:
        if ipaddress.IPv4Address(inbound_ip) not in inbound_subnet:
            r.bad(
                "resolverInboundIp",
                f"{inbound_ip} is outside the dns_inbound subnet {inbound_subnet}",
                f"use an address in {inbound_subnet}, e.g. {default_ip}",
            )
    except ValueError:
        r.bad(
            "resolverInboundIp", f"{inbound_ip!r} is not an IPv4 address", f"use e.g. {default_ip}"
        )
    keys: dict[tuple[str, str], pulumi.Output[str]] = {}
    raw = r.secret_obj("vpnSharedKeys", root)
    if raw is not None and not isinstance(raw, dict):
        r.bad("vpnSharedKeys", "must be a mapping slug → key", "set it with --path")
    elif isinstance(raw, dict):
        for slug in sorted(set(raw) - set(sites)):
            r.bad(
                f"vpnSharedKeys.{slug}",
                "names no municipality in region.yaml",
                f"remove it; known slugs: {', '.join(sites)}",
            )
        for slug, site_names in sites.items():
            entry = raw.get(slug)
            for site in site_names:
                value = entry.get(site) if isinstance(entry, dict) else entry
                # Azure takes 1-128 printable ASCII characters; generate them, never type them.
                if not isinstance(value, str) or not 0 < len(value) <= 128 or not value.isascii():
                    r.bad(
                        f"vpnSharedKeys.{slug}",
                        f"no pre-shared key (1-128 ASCII characters) for site {slug}/{site}",
                        f"pulumi config set --secret --path 'ilag:vpnSharedKeys.{slug}' "
                        f'"$(openssl rand -base64 32)" -s {stack}',
                    )
                    continue
                keys[(slug, site)] = pulumi.Output.secret(value)
    email = r.email("operatorsEmail")
    retention = r.bounded(
        "logRetentionDays", DEFAULT_LOG_RETENTION_DAYS, *LOG_RETENTION_DAYS, "days"
    )
    budget = r.budget(kind)
    egress = r.text("egress", DEFAULT_EGRESS).strip()
    if egress not in EGRESS_CHOICES:
        r.bad(
            "egress",
            f"{egress!r} is not an egress choice",
            f'use {" or ".join(EGRESS_CHOICES)} (docs/operators.md, "Egress")',
        )
    r.done()
    return NetworkSettings(common, keys, sku, inbound_ip, email, retention, budget, egress)


def read_identity(stack: str, root: Path) -> IdentitySettings:
    kind, suffix = stack_kind(stack)
    r = _Reader(stack)
    common = _common(r, kind, suffix, root)
    roles = r.obj("operatorRoles", ["Contributor"])
    if not isinstance(roles, list) or not all(isinstance(x, str) for x in roles):
        r.bad("operatorRoles", "must be a list of built-in role names", "write a YAML list")
        roles = []
    for role in roles:
        if role not in BUILTIN_ROLES:
            r.bad(
                "operatorRoles",
                f"unknown role {role!r}",
                f"use one of {', '.join(sorted(BUILTIN_ROLES))}",
            )
    subject = r.text("githubOidcSubject")
    if subject and not subject.startswith("repo:"):
        r.bad(
            "githubOidcSubject",
            f"{subject!r} is not a GitHub OIDC subject",
            "use repo:<org>/<repo>:environment:<name> or repo:<org>/<repo>:ref:refs/heads/main",
        )
    repo = ":".join(subject.split(":")[:2])
    preview_subject = r.text("githubPreviewSubject", f"{repo}:environment:preview")
    if not preview_subject.startswith("repo:") or preview_subject == subject:
        r.bad(
            "githubPreviewSubject",
            f"{preview_subject!r} is not a GitHub OIDC subject of its own",
            "use repo:<org>/<repo>:environment:preview (never the deploy subject)",
        )
    ca = r.text("sshUserCaPublicKey").strip()
    # One key per line: during a CA rotation both the old and the new key are trusted
    # (docs/operators.md, "Rotating the CA").
    lines = [line.strip() for line in ca.splitlines() if line.strip()]
    for n, line in enumerate(lines, 1):
        problem = ssh_public_key_problem(line)
        if problem:
            r.bad(
                "sshUserCaPublicKey",
                f"line {n} {problem}",
                "paste the contents of the CA's .pub file (never the private key), one per line",
            )
    keys = [line.split()[1] for line in lines if len(line.split()) > 1]
    if len(set(keys)) != len(keys) or len(lines) > MAX_TRUSTED_CAS:
        r.bad(
            "sshUserCaPublicKey",
            f"holds {len(lines)} keys, some the same or more than {MAX_TRUSTED_CAS}",
            "trust the current CA, plus the next one only while rotating",
        )
    ca = "\n".join(lines)
    created = r.obj("sshUserCaCreated", None)
    max_age = r.cfg.get("sshUserCaMaxAgeDays")
    for bad in ca_age.problems(created, max_age):
        r.problems.append(Problem(r.file, bad.key, bad.message, bad.fix))
    settings = IdentitySettings(
        common=common,
        network_stack=_upstream(r, "networkStack", "network", suffix),
        key_vault_allowed_ips=r.ip_list("keyVaultAllowedIps"),
        operators_group_object_id=r.uuid("operatorsGroupObjectId"),
        operator_roles=list(roles),
        github_oidc_subject=subject,
        github_preview_subject=preview_subject,
        ssh_user_ca_public_key=ca,
        budget_nok=r.budget(kind),
        ssh_user_ca_created={fp: day.isoformat() for fp, day in ca_age.created(created).items()},
        ssh_user_ca_max_age_days=ca_age.max_age(max_age),
        expiry_warning_days=r.bounded("expiryWarningDays", 60, 1, 365, "days"),
    )
    r.done()
    return settings


def _restic_passwords(r: _Reader, root: Path, slugs: list[str]) -> dict[str, pulumi.Output[str]]:
    """ilag:resticPasswords: one encrypted entry per municipality, the password its
    repositories were created with (the ansible-vault value), never a fresh one."""
    found: dict[str, pulumi.Output[str]] = {}
    raw = r.secret_obj("resticPasswords", root)
    if raw is not None and not isinstance(raw, dict):
        r.bad("resticPasswords", "must be a mapping slug → password", "set it with --path")
        return found
    if raw is None:
        return found
    for slug in sorted(set(raw) - set(slugs)):
        r.bad(
            f"resticPasswords.{slug}",
            "names no municipality in region.yaml",
            f"remove it; known slugs: {', '.join(slugs)}",
        )
    for slug in slugs:
        value = raw.get(slug)
        if not isinstance(value, str) or not value:
            r.bad(
                f"resticPasswords.{slug}",
                f"no restic password for {slug}: its backups have no escrow",
                f"copy vault_restic_password from inventories/{slug}/group_vars/{slug}/vault.yml "
                f"(`ansible-vault view`) into `pulumi config set --secret --path "
                f"'ilag:resticPasswords.{slug}' -s {r.stack}` (it prompts for the value)",
            )
            continue
        found[slug] = pulumi.Output.secret(value)
    return found


def read_backup(stack: str, root: Path, slugs: list[str] | None = None) -> BackupSettings:
    """The backup stack's settings; slugs are region.yaml's municipalities (each needs its
    restic password in ilag:resticPasswords)."""
    kind, suffix = stack_kind(stack)
    r = _Reader(stack)
    common = _common(r, kind, suffix, root)
    passwords = _restic_passwords(r, root, list(slugs or []))
    expiry = r.text("sasExpiry")
    if expiry:
        try:
            parsed = dt.datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ")
            expiry = parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            r.bad(
                "sasExpiry",
                f"{expiry!r} is not a UTC time like 2027-01-31T00:00:00Z",
                "write it as YYYY-MM-DDTHH:MM:SSZ",
            )
    time_utc = r.text("vmBackupTimeUtc", "01:00")
    if not re.fullmatch(r"([01]\d|2[0-3]):(00|30)", time_utc):
        r.bad(
            "vmBackupTimeUtc",
            f"{time_utc!r} is not HH:00 or HH:30",
            "Azure VM backup starts on the hour or half hour, e.g. 01:00",
        )
    raw_ret = r.obj("vmRetention", {})
    retention = VmRetention()
    if not isinstance(raw_ret, dict) or set(raw_ret) - {"daily", "weekly", "monthly", "yearly"}:
        r.bad(
            "vmRetention",
            "must be a mapping with daily, weekly, monthly, yearly",
            "e.g. {daily: 14, weekly: 8, monthly: 12, yearly: 7}",
        )
    else:
        try:
            retention = VmRetention(**{k: int(v) for k, v in raw_ret.items()})
        except (TypeError, ValueError):
            r.bad("vmRetention", "counts must be whole numbers", "write numbers")
        if retention.daily < 7:
            r.bad("vmRetention", "daily retention below 7 days", "keep at least 7 daily points")
    settings = BackupSettings(
        common=common,
        network_stack=_upstream(r, "networkStack", "network", suffix),
        identity_stack=_upstream(r, "identityStack", "identity", suffix),
        sas_expiry=expiry,
        expiry_warning_days=r.bounded("expiryWarningDays", 60, 1, 365, "days"),
        cool_after_days=r.integer("coolAfterDays", 30, 1),
        delete_retention_days=r.integer("deleteRetentionDays", 30, 30),
        storage_allowed_ips=r.storage_ip_rules("storageAllowedIps"),
        vm_backup_time_utc=time_utc,
        vm_retention=retention,
        immutability_days=r.integer("backupImmutabilityDays", 0, 0),
        copy_days=r.bounded("backupCopyDays", 30, 0, MAX_COPY_DAYS, "days"),
        budget_nok=r.budget(kind),
        restic_passwords=passwords,
    )
    if settings.immutability_days > MAX_IMMUTABILITY_DAYS:
        r.bad(
            "backupImmutabilityDays",
            f"{settings.immutability_days} is above Azure's maximum {MAX_IMMUTABILITY_DAYS}",
            f"use 0 (no policy) or 1 to {MAX_IMMUTABILITY_DAYS}",
        )
    r.done()
    return settings
