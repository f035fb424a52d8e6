"""Each municipality's site credential in Key Vault, readable by its own technicians only.

A technician (or a municipality's node) reads the one secret of its municipality, never the
Pulumi state, which decrypts every municipality's outputs. Azure RBAC allows a role "at
individual keys, secrets and certificates scope", and Key Vault Secrets User there lets its
holder "read secret contents" of that secret alone
(learn.microsoft.com/azure/key-vault/general/rbac-guide#best-practices-for-individual-keys-secrets-and-certificates-role-assignments).
The secret is written through ARM (Microsoft.KeyVault/vaults/secrets), which the vault's
firewall does not stop; the data plane reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from ilag_infra.azure.blueprint import Context
from ilag_infra.azure.identity import Grant

SECRET_PREFIX = "site-sas-"
READER_ROLE = "Key Vault Secrets User"


def secret_name(slug: str) -> str:
    return f"{SECRET_PREFIX}{slug}"


def vault_id(
    subscription_id: pulumi.Input[str],
    resource_group: pulumi.Input[str],
    vault_name: pulumi.Input[str],
) -> pulumi.Output[str]:
    return pulumi.Output.concat(
        "/subscriptions/",
        subscription_id,
        "/resourceGroups/",
        resource_group,
        "/providers/Microsoft.KeyVault/vaults/",
        vault_name,
    )


@dataclass(frozen=True)
class SiteSecretArgs:
    ctx: Context
    slug: str
    resource_group: pulumi.Input[str]
    vault_name: pulumi.Input[str]
    vault_id: pulumi.Input[str]
    value: pulumi.Input[str]
    technicians: str  # the municipality's technicians group object id


class SiteSecret(pulumi.ComponentResource):
    """One municipality's site SAS as a Key Vault secret, and the grant that lets only that
    municipality's technicians read it (returned as `grant` for the stack's Access)."""

    def __init__(
        self, name: str, args: SiteSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ilag:backup:SiteSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret = keyvault.Secret(
            name,
            resource_group_name=args.resource_group,
            vault_name=args.vault_name,
            secret_name=secret_name(args.slug),
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(args.value),
                content_type="application/x-sas-url",
            ),
            tags={**args.ctx.tags("backup"), "municipality": args.slug},
            opts=child,
        )
        scope = pulumi.Output.concat(args.vault_id, "/secrets/", secret_name(args.slug))
        self.grant = Grant(
            f"secret-{args.slug}",
            scope,
            READER_ROLE,
            f"technicians-{args.slug}",
            args.technicians,
            "Group",
        )
        self.register_outputs({"secret_name": secret_name(args.slug)})
