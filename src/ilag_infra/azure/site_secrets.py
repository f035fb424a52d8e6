"""Each municipality's secrets in Key Vault, readable by its own technicians only.

A technician (or a municipality's node) reads the secrets of its municipality, never the
Pulumi state, which decrypts every municipality's outputs. Azure RBAC allows a role "at
individual keys, secrets and certificates scope", and Key Vault Secrets User there lets its
holder "read secret contents" of that secret alone
(learn.microsoft.com/azure/key-vault/general/rbac-guide#best-practices-for-individual-keys-secrets-and-certificates-role-assignments).
The secrets are written through ARM (Microsoft.KeyVault/vaults/secrets), which the vault's
firewall does not stop; the data plane reads them.

Two per municipality: its site SAS (`site-sas-<slug>`, SiteSecret) and its restic repository
password in escrow (`restic-password-<slug>`, ResticEscrow), so that losing the ansible-vault
password does not lose the municipality's backups.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from ilag_infra.azure.blueprint import Context
from ilag_infra.azure.identity import Grant
from ilag_infra.model.naming import SITE_SECRET_PREFIX, restic_escrow_secret

SECRET_PREFIX = SITE_SECRET_PREFIX
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


def _secret_and_grant(
    parent: pulumi.ComponentResource,
    name: str,
    args: SiteSecretArgs,
    secret: str,
    content_type: str,
    scope_key: str,
) -> tuple[keyvault.Secret, Grant]:
    """The secret, and Key Vault Secrets User on it (only it) for the technicians' group."""
    resource = keyvault.Secret(
        name,
        resource_group_name=args.resource_group,
        vault_name=args.vault_name,
        secret_name=secret,
        properties=keyvault.SecretPropertiesArgs(
            value=pulumi.Output.secret(args.value),
            content_type=content_type,
        ),
        tags={**args.ctx.tags("backup"), "municipality": args.slug},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    scope = pulumi.Output.concat(args.vault_id, "/secrets/", secret)
    grant = Grant(
        scope_key, scope, READER_ROLE, f"technicians-{args.slug}", args.technicians, "Group"
    )
    return resource, grant


class SiteSecret(pulumi.ComponentResource):
    """One municipality's site SAS as a Key Vault secret, and the grant that lets only that
    municipality's technicians read it (returned as `grant` for the stack's Access)."""

    def __init__(
        self, name: str, args: SiteSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ilag:backup:SiteSecret", name, None, opts)
        self.secret, self.grant = _secret_and_grant(
            self,
            name,
            args,
            secret_name(args.slug),
            "application/x-sas-url",
            f"secret-{args.slug}",
        )
        self.register_outputs({"secret_name": secret_name(args.slug)})


class ResticEscrow(pulumi.ComponentResource):
    """One municipality's restic repository password in escrow, readable by that
    municipality's technicians only (`grant`). The value comes from the secret config map
    ilag:resticPasswords, the same password the municipality's ansible-vault holds."""

    def __init__(
        self, name: str, args: SiteSecretArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ilag:backup:ResticEscrow", name, None, opts)
        secret = restic_escrow_secret(args.slug)
        self.secret, self.grant = _secret_and_grant(
            self, name, args, secret, "text/plain", f"escrow-{args.slug}"
        )
        self.register_outputs({"secret_name": secret})
