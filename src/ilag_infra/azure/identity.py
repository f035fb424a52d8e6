"""The identity stack: Key Vault, the CI deploy identity, role assignments, the SSH user CA key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity, network, resources

from ilag_infra.azure import monitoring
from ilag_infra.azure.blueprint import Context
from ilag_infra.azure.roles import (
    BACKUP_DEPLOYER_NOT_ACTIONS,
    LOCK_ACTIONS,
    PRUNER_ACTIONS,
    PRUNER_DATA_ACTIONS,
    assignment_name_output,
    custom_role_guid,
    delegation_condition_output,
    role_definition_id,
)
from ilag_infra.azure.settings import IdentitySettings
from ilag_infra.model import naming
from ilag_infra.model.stack_outputs import IdentityOutput, NetworkOutput

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "api://AzureADTokenExchange"
KEY_VAULT_SOFT_DELETE_DAYS = 90


def _child(parent: pulumi.Resource, **extra: object) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **extra)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PrivateEndpointArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    name: str
    target_id: pulumi.Input[str]
    group_id: str  # "vault", "blob", …
    subnet_id: pulumi.Input[str]
    dns_zone_id: pulumi.Input[str]
    service: str


class PrivateEndpoint(pulumi.ComponentResource):
    """A private endpoint in the hub with its A record registered in the Private Link zone."""

    def __init__(
        self, name: str, args: PrivateEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:network:PrivateEndpoint", name, None, opts)
        endpoint = network.PrivateEndpoint(
            args.name,
            private_endpoint_name=args.name,
            resource_group_name=args.resource_group_name,
            location=args.ctx.location,
            subnet=network.SubnetArgs(id=args.subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(
                    name=args.name,
                    private_link_service_id=args.target_id,
                    group_ids=[args.group_id],
                )
            ],
            tags=args.ctx.tags(args.service),
            opts=_child(self),
        )
        # The zone group keeps the A record in step with the endpoint's address.
        network.PrivateDnsZoneGroup(
            f"{args.name}-dns",
            private_dns_zone_group_name="default",
            private_endpoint_name=endpoint.name,
            resource_group_name=args.resource_group_name,
            private_dns_zone_configs=[
                network.PrivateDnsZoneConfigArgs(
                    name=args.group_id, private_dns_zone_id=args.dns_zone_id
                )
            ],
            opts=_child(self),
        )
        self.register_outputs({"id": endpoint.id})


@dataclass(frozen=True)
class KeyVaultArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    allowed_ips: list[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    vault_dns_zone_id: pulumi.Input[str]


class KeyVault(pulumi.ComponentResource):
    """The platform Key Vault: RBAC only, purge protection, reachable through the hub."""

    vault: keyvault.Vault

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:identity:KeyVault", name, None, opts)
        ctx = args.ctx
        vault_name = ctx.names.key_vault()
        self.vault = keyvault.Vault(
            vault_name,
            vault_name=vault_name,
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=KEY_VAULT_SOFT_DELETE_DAYS,
                # Purge protection cannot be turned off again: deleted keys stay recoverable.
                enable_purge_protection=True,
                public_network_access="Enabled",
                # Deny by default; operators' and CI's egress IPs need the data plane from
                # outside the VPN, everything else comes through the private endpoint.
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action="Deny",
                    bypass="AzureServices",
                    ip_rules=[keyvault.IPRuleArgs(value=ip) for ip in args.allowed_ips],
                ),
            ),
            tags=ctx.tags("identity"),
            opts=_child(self, protect=True),
        )
        PrivateEndpoint(
            "kv-endpoint",
            PrivateEndpointArgs(
                ctx,
                args.resource_group_name,
                ctx.names.private_endpoint(vault_name),
                self.vault.id,
                "vault",
                args.private_endpoint_subnet_id,
                args.vault_dns_zone_id,
                "identity",
            ),
            opts=_child(self),
        )
        self.register_outputs({"uri": self.vault.properties.vault_uri})


@dataclass(frozen=True)
class DeployIdentityArgs:
    ctx: Context
    resource_group_name: pulumi.Input[str]
    github_subject: str
    purpose: str = "deploy"  # deploy | preview


class DeployIdentity(pulumi.ComponentResource):
    """The CI's managed identity; GitHub Actions signs in to it by OIDC, with no stored secret."""

    identity: managedidentity.UserAssignedIdentity

    def __init__(
        self, name: str, args: DeployIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:identity:DeployIdentity", name, None, opts)
        ctx = args.ctx
        identity_name = ctx.names.identity(args.purpose)
        self.identity = managedidentity.UserAssignedIdentity(
            identity_name,
            resource_name_=identity_name,
            resource_group_name=args.resource_group_name,
            location=ctx.location,
            tags=ctx.tags("identity"),
            opts=_child(self),
        )
        managedidentity.FederatedIdentityCredential(
            f"{identity_name}-github",
            federated_identity_credential_resource_name="github-actions",
            resource_name_=self.identity.name,
            resource_group_name=args.resource_group_name,
            issuer=GITHUB_ISSUER,
            subject=args.github_subject,
            audiences=[GITHUB_AUDIENCE],
            opts=_child(self),
        )
        self.register_outputs({"client_id": self.identity.client_id})


@dataclass(frozen=True)
class Grant:
    """One role for one principal on one scope. The keys only name the Pulumi resource; the
    Azure name is derived from the real scope, role definition id and principal id."""

    scope_key: str
    scope: pulumi.Input[str]
    role: str  # a built-in role name, or a label when role_definition is given
    principal_key: str
    principal_id: pulumi.Input[str]
    principal_type: str  # Group | ServicePrincipal
    role_definition: pulumi.Input[str] | None = None  # full id of a custom role
    condition: pulumi.Input[str] | None = None  # ABAC condition (version 2.0)


@dataclass(frozen=True)
class AccessArgs:
    subscription_id: pulumi.Input[str]
    grants: list[Grant]


class Access(pulumi.ComponentResource):
    """Role assignments, named by uuid5 of (scope, role definition, principal): a re-run never
    duplicates one, and no two environments share a name."""

    assignments: dict[str, authorization.RoleAssignment]

    def __init__(
        self,
        name: str,
        args: AccessArgs,
        opts: pulumi.ResourceOptions | None = None,
        type_token: str = "ilag:identity:Access",
    ):
        super().__init__(type_token, name, None, opts)
        self.assignments = {}
        for g in args.grants:
            role_id = (
                pulumi.Output.from_input(g.role_definition)
                if g.role_definition is not None
                else role_definition_id(args.subscription_id, g.role)
            )
            logical = f"{g.principal_key}-{g.role.lower().replace(' ', '-')}-{g.scope_key}"
            self.assignments[logical] = authorization.RoleAssignment(
                logical,
                role_assignment_name=assignment_name_output(g.scope, role_id, g.principal_id),
                scope=g.scope,
                role_definition_id=role_id,
                principal_id=g.principal_id,
                principal_type=g.principal_type,
                condition=g.condition,
                condition_version="2.0" if g.condition is not None else None,
                opts=_child(self),
            )
        self.register_outputs({})


@dataclass(frozen=True)
class LockRoleArgs:
    ctx: Context
    subscription_id: pulumi.Input[str]


class LockRole(pulumi.ComponentResource):
    """A custom role with only the management-lock actions.

    Among built-in roles only Owner and User Access Administrator may write or delete locks,
    and both can also grant any role. The backup stack assigns this role to the deploy
    identity on its resource group, so CI can keep the storage account's lock without either.
    Creating the definition needs Microsoft.Authorization/roleDefinitions/write (Owner or User
    Access Administrator): the first `pulumi up -s identity` is an Owner's (docs/operators.md).
    """

    definition: authorization.RoleDefinition
    definition_id: pulumi.Output[str]

    def __init__(self, name: str, args: LockRoleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("ilag:identity:LockRole", name, None, opts)
        ctx = args.ctx
        # Custom role names are unique in the tenant: one per region and environment.
        role_name = f"ILAG Lock Operator ({ctx.names.region}-{ctx.environment})"
        subscription_scope = pulumi.Output.concat("/subscriptions/", args.subscription_id)
        self.definition = authorization.RoleDefinition(
            f"lock-operator-{ctx.environment}",
            role_definition_id=pulumi.Output.from_input(args.subscription_id).apply(
                lambda sub: custom_role_guid(sub, role_name)
            ),
            role_name=role_name,
            role_type="CustomRole",
            description="Create, change and delete management locks; nothing else.",
            scope=subscription_scope,
            assignable_scopes=[subscription_scope],
            permissions=[authorization.PermissionArgs(actions=list(LOCK_ACTIONS))],
            opts=_child(self),
        )
        self.definition_id = self.definition.id
        self.register_outputs({"id": self.definition_id})


@dataclass(frozen=True)
class PlatformRoleArgs:
    ctx: Context
    subscription_id: pulumi.Input[str]
    title: str  # e.g. "Backup Pruner"
    description: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()


class PlatformRole(pulumi.ComponentResource):
    """A custom role of the platform, one per region and environment (names are unique in
    the tenant). Created by the Owner's first `pulumi up -s identity`, like the lock role."""

    definition_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: PlatformRoleArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("ilag:identity:PlatformRole", name, None, opts)
        ctx = args.ctx
        role_name = f"ILAG {args.title} ({ctx.names.region}-{ctx.environment})"
        subscription_scope = pulumi.Output.concat("/subscriptions/", args.subscription_id)
        definition = authorization.RoleDefinition(
            f"{name}-{ctx.environment}",
            role_definition_id=pulumi.Output.from_input(args.subscription_id).apply(
                lambda sub: custom_role_guid(sub, role_name)
            ),
            role_name=role_name,
            role_type="CustomRole",
            description=args.description,
            scope=subscription_scope,
            assignable_scopes=[subscription_scope],
            permissions=[
                authorization.PermissionArgs(
                    actions=list(args.actions),
                    not_actions=list(args.not_actions),
                    data_actions=list(args.data_actions),
                )
            ],
            opts=_child(self),
        )
        self.definition_id = definition.id
        self.register_outputs({"id": self.definition_id})


def declare(ctx: Context, settings: IdentitySettings) -> dict[str, object]:
    """Declare the identity stack's resources and return its outputs."""
    names = ctx.names
    net = pulumi.StackReference(settings.network_stack)
    client = authorization.get_client_config_output()
    rg = resources.ResourceGroup(
        names.resource_group("identity"),
        resource_group_name=names.resource_group("identity"),
        location=ctx.location,
        tags=ctx.tags("identity"),
    )
    zone_ids = net.require_output("private_dns_zone_ids")
    kv = KeyVault(
        "kv",
        KeyVaultArgs(
            ctx,
            rg.name,
            client.tenant_id,
            settings.key_vault_allowed_ips,
            net.require_output("private_endpoint_subnet_id"),
            zone_ids.apply(lambda z: str(z[naming.PRIVATELINK_VAULT_ZONE])),
        ),
    )
    deploy = DeployIdentity(
        "deploy", DeployIdentityArgs(ctx, rg.name, settings.github_oidc_subject)
    )
    # Pull-request previews sign in as their own identity: Reader only, so a workflow change in
    # a pull request cannot deploy or read data.
    preview = DeployIdentity(
        "preview",
        DeployIdentityArgs(ctx, rg.name, settings.github_preview_subject, purpose="preview"),
    )
    operators = settings.operators_group_object_id
    lock_role = LockRole("lock-role", LockRoleArgs(ctx, client.subscription_id))
    deployer = PlatformRole(
        "backup-deployer",
        PlatformRoleArgs(
            ctx,
            client.subscription_id,
            "Backup Deployer",
            "Deploy the backup stack: Contributor without listing keys or deleting backups.",
            actions=("*",),
            not_actions=BACKUP_DEPLOYER_NOT_ACTIONS,
        ),
    )
    pruner = PlatformRole(
        "backup-pruner",
        PlatformRoleArgs(
            ctx,
            client.subscription_id,
            "Backup Pruner",
            "Run the central restic prune: read, write and delete current blobs, no versions.",
            actions=PRUNER_ACTIONS,
            data_actions=PRUNER_DATA_ACTIONS,
        ),
    )
    # CI may only hand out the roles the stacks declare, never a privileged one, and never
    # to itself.
    ci_condition = delegation_condition_output(
        settings.operator_roles,
        [lock_role.definition_id, pruner.definition_id],
        exclude_principal=deploy.identity.principal_id,
    )
    platform_rgs: list[tuple[str, pulumi.Input[str]]] = [
        ("rg-network", net.require_output("resource_group_id")),
        ("rg-identity", rg.id),
    ]
    grants: list[Grant] = []
    for key, scope in platform_rgs:
        for role in settings.operator_roles:
            grants.append(Grant(key, scope, role, "operators", operators, "Group"))
        # CI deploys the stacks: it changes resources and assigns the roles declared here.
        grants.append(
            Grant(
                key,
                scope,
                "Contributor",
                "deploy",
                deploy.identity.principal_id,
                "ServicePrincipal",
            )
        )
        grants.append(
            Grant(
                key, scope, "Reader", "preview", preview.identity.principal_id, "ServicePrincipal"
            )
        )
        grants.append(
            Grant(
                key,
                scope,
                "Role Based Access Control Administrator",
                "deploy",
                deploy.identity.principal_id,
                "ServicePrincipal",
                condition=ci_condition,
            )
        )
    # Data-plane roles are separate from Contributor under RBAC authorization.
    grants.append(
        Grant("kv", kv.vault.id, "Key Vault Administrator", "operators", operators, "Group")
    )
    grants.append(
        Grant(
            "kv",
            kv.vault.id,
            "Key Vault Secrets User",
            "deploy",
            deploy.identity.principal_id,
            "ServicePrincipal",
        )
    )
    Access("access", AccessArgs(client.subscription_id, grants))
    # Logs and alerts go to the network stack's workspace and action group.
    monitoring.Diagnostics(
        "key-vault",
        monitoring.DiagnosticsArgs(
            ctx,
            kv.vault.id,
            net.require_output(NetworkOutput.LOG_ANALYTICS_WORKSPACE_ID),
            monitoring.KEY_VAULT_LOGS,
        ),
    )
    monitoring.watch_group(
        ctx,
        "identity",
        rg.id,
        settings.budget_nok,
        net.require_output(NetworkOutput.ACTION_GROUP_ID),
    )
    return {
        IdentityOutput.KEY_VAULT_URI: kv.vault.properties.vault_uri,
        IdentityOutput.SSH_USER_CA_PUBLIC_KEY: settings.ssh_user_ca_public_key,
        IdentityOutput.DEPLOY_IDENTITY_CLIENT_ID: deploy.identity.client_id,
        # Read by the backup stack through StackReference.
        IdentityOutput.DEPLOY_IDENTITY_PRINCIPAL_ID: deploy.identity.principal_id,
        IdentityOutput.PREVIEW_IDENTITY_CLIENT_ID: preview.identity.client_id,
        IdentityOutput.PREVIEW_IDENTITY_PRINCIPAL_ID: preview.identity.principal_id,
        IdentityOutput.OPERATORS_GROUP_OBJECT_ID: operators,
        IdentityOutput.KEY_VAULT_NAME: kv.vault.name,
        IdentityOutput.RESOURCE_GROUP_NAME: rg.name,
        IdentityOutput.LOCK_ROLE_DEFINITION_ID: lock_role.definition_id,
        IdentityOutput.BACKUP_DEPLOYER_ROLE_DEFINITION_ID: deployer.definition_id,
        IdentityOutput.PRUNER_ROLE_DEFINITION_ID: pruner.definition_id,
    }
