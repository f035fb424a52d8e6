"""Azure resource names and tags: the Cloud Adoption Framework abbreviations in one place.

Every name the stacks give a resource comes from here, so a reader can predict a name from
the portal and the lab can derive the same container names as production.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

LOCATION = "norwayeast"
LOCATION_PAIR = "norwaywest"
ALLOWED_LOCATIONS = ("norwayeast", "norwaywest")
MANAGED_BY = "pulumi"
SHARED = "shared"

# Short location codes keep names inside Azure's length limits (Key Vault: 24).
_LOCATION_CODE = {"norwayeast": "noe", "norwaywest": "now"}

# The one public IP the platform may have belongs to the VPN gateway; the policy pack
# recognises it by this prefix.
VPN_GATEWAY_PUBLIC_IP_PREFIX = "pip-vgw-"
# A NAT gateway's public IP (ilag:egress nat-gateway) carries outbound traffic only: "NAT
# Gateway doesn't provide unsolicited inbound connections from the internet"
# (https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource). The policy pack
# recognises it by this prefix too.
NAT_GATEWAY_PUBLIC_IP_PREFIX = "pip-ng-"

# Private DNS zones for Private Link must carry exactly these names, or Azure's resolution
# for the service does not find them.
PRIVATELINK_BLOB_ZONE = "privatelink.blob.core.windows.net"
PRIVATELINK_VAULT_ZONE = "privatelink.vaultcore.azure.net"

_CONTAINER = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", re.ASCII)
_TAG_FORBIDDEN = re.compile(r"[<>%&\\?/]")


def container_name(slug: str) -> str:
    """The blob container of one municipality's backups; the lab uses the same name."""
    name = f"backup-{slug}"
    if not _CONTAINER.fullmatch(name):
        raise ValueError(
            f"container name {name!r} for slug {slug!r} is not a valid blob container name "
            "(3-63 lowercase letters, digits and single hyphens)"
        )
    return name


# Key Vault secret names of a municipality: its site SAS, and its restic repository password
# kept in escrow (the backup stack writes both; `ilag backup status` reads the escrow).
SITE_SECRET_PREFIX = "site-sas-"
RESTIC_ESCROW_PREFIX = "restic-password-"
# The lab's stand-in for Key Vault: <lab state dir>/escrow/restic-password-<slug>.
LAB_ESCROW_DIR = "escrow"


def restic_escrow_secret(slug: str) -> str:
    """The Key Vault secret that holds the municipality's restic password in escrow."""
    return f"{RESTIC_ESCROW_PREFIX}{slug}"


def short_hash(*parts: str, length: int = 6) -> str:
    """A short, stable suffix for names that must be globally unique."""
    digest = hashlib.sha256(":".join(parts).encode()).hexdigest()
    return digest[:length]


def tags(
    owner: str,
    service: str,
    environment: str,
    cost_key: str | None = None,
) -> dict[str, str]:
    """Tags every resource carries: who owns it, what it is for, who pays and how.

    `owner` is a municipality slug or "shared". Shared resources name the cost key that
    splits their bill; a municipality's own resources are billed to it directly.
    """
    result = {
        "municipality": owner,
        "service": service,
        "environment": environment,
        "managed-by": MANAGED_BY,
        "cost-center": f"ilag-{owner}",
        "cost-key": (cost_key or "agreed-key") if owner == SHARED else "direct",
    }
    for key, value in result.items():
        if not value or _TAG_FORBIDDEN.search(value) or len(value) > 256:
            raise ValueError(f"tag {key}={value!r} is not a valid Azure tag value")
    return result


@dataclass(frozen=True)
class Names:
    """CAF names for one region and environment, e.g. rg-ilag-network-prod-noe."""

    region: str
    environment: str
    location: str = LOCATION

    def __post_init__(self) -> None:
        if self.location not in ALLOWED_LOCATIONS:
            raise ValueError(
                f"location {self.location!r} is not allowed; data stays in Norway: "
                f"{', '.join(ALLOWED_LOCATIONS)}"
            )
        for label, value in (("region", self.region), ("environment", self.environment)):
            if not re.fullmatch(r"[a-z][a-z0-9]{0,11}", value):
                raise ValueError(
                    f"{label} {value!r} must be 1-12 lowercase letters/digits for Azure names"
                )

    @property
    def _loc(self) -> str:
        return _LOCATION_CODE[self.location]

    def _std(self, abbrev: str, workload: str) -> str:
        return f"{abbrev}-{self.region}-{workload}-{self.environment}-{self._loc}"

    def resource_group(self, service: str) -> str:
        return self._std("rg", service)

    def vnet(self, workload: str) -> str:
        return self._std("vnet", workload)

    def subnet(self, purpose: str) -> str:
        return f"snet-{purpose}"

    def nsg(self, purpose: str) -> str:
        return self._std("nsg", purpose)

    def vpn_gateway(self) -> str:
        return self._std("vgw", "hub")

    def vpn_gateway_public_ip(self) -> str:
        return f"{VPN_GATEWAY_PUBLIC_IP_PREFIX}{self.region}-hub-{self.environment}-{self._loc}"

    def nat_gateway(self, workload: str) -> str:
        return self._std("ng", workload)

    def nat_gateway_public_ip(self, workload: str) -> str:
        return (
            f"{NAT_GATEWAY_PUBLIC_IP_PREFIX}{self.region}-{workload}-{self.environment}-{self._loc}"
        )

    def local_gateway(self, slug: str, site: str) -> str:
        return f"lgw-{slug}-{site}-{self.environment}-{self._loc}"

    def connection(self, slug: str, site: str) -> str:
        return f"vcn-{slug}-{site}-{self.environment}-{self._loc}"

    def peering(self, source: str, target: str) -> str:
        return f"peer-{source}-to-{target}"

    def dns_resolver(self) -> str:
        return self._std("dnspr", "hub")

    def dns_resolver_endpoint(self, direction: str) -> str:
        return f"{direction}-{self.environment}"

    def dns_link(self, vnet: str) -> str:
        """A zone's link to a VNet; link names are scoped to their zone."""
        return f"link-{vnet}-{self.environment}"

    def key_vault(self) -> str:
        """kv-<region>-<env>-<hash>: 3-24 chars; soft delete reserves a name for 90 days."""
        suffix = short_hash(self.region, self.environment, "kv", length=4)
        stem = f"kv-{self.region}-{self.environment}"[: 24 - len(suffix) - 1]
        return f"{stem.rstrip('-')}-{suffix}"

    def storage_account(self, purpose: str) -> str:
        """st<region><purpose><env><hash>: 3-24 lowercase letters and digits, globally unique."""
        suffix = short_hash(self.region, self.environment, purpose)
        stem = f"st{self.region}{purpose}{self.environment}"
        stem = re.sub(r"[^a-z0-9]", "", stem)[: 24 - len(suffix)]
        return f"{stem}{suffix}"

    def recovery_vault(self) -> str:
        return self._std("rsv", "backup")

    def identity(self, purpose: str) -> str:
        return self._std("id", purpose)

    def private_endpoint(self, target: str) -> str:
        return f"pe-{target}"

    def lock(self, target: str) -> str:
        return f"lock-{target}"

    def log_workspace(self) -> str:
        return self._std("log", "monitor")

    def action_group(self) -> str:
        return self._std("ag", "operators")

    def alert(self, purpose: str) -> str:
        return self._std("alert", purpose)

    def budget(self, service: str) -> str:
        return self._std("budget", service)

    def diagnostic_setting(self) -> str:
        """One setting per target; names are scoped to the target resource."""
        return f"diag-to-{self._std('log', 'monitor')}"

    def policy_assignment(self, purpose: str, service: str) -> str:
        # At most 64 characters below a management group.
        return f"pa-{purpose}-{service}-{self.environment}"[:64]


# The input that holds a resource's name in Azure, where it is not `<type>Name`: the offline
# plan derives Azure names from it and `ilag diff` pairs renamed resources by it.
PHYSICAL_NAME_KEYS = {
    "StorageAccount": "accountName",
    "BlobContainer": "containerName",
    "BlobServiceProperties": "blobServicesName",
    "ManagementPolicy": "managementPolicyName",
    "UserAssignedIdentity": "resourceName",
    "FederatedIdentityCredential": "federatedIdentityCredentialResourceName",
    "ProtectionPolicy": "policyName",
    "ManagementLockByScope": "lockName",
    "ManagementLockAtResourceGroupLevel": "lockName",
    "PublicIPAddress": "publicIpAddressName",
    "PrivateZone": "privateZoneName",
    "MetricAlert": "ruleName",
    "DiagnosticSetting": "name",
    "DefenderForStorage": "settingName",
}
