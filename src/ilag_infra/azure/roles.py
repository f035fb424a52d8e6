"""Built-in Azure role definition ids and deterministic role assignment names."""

from __future__ import annotations

import uuid

import pulumi

# Built-in role GUIDs are the same in every tenant, so no lookup (and no credential) is needed
# to reference them.
BUILTIN_ROLES: dict[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Backup Contributor": "5e467623-bb1f-42f4-a55d-6e525e11384b",
    "Backup Operator": "00c29273-979b-4161-815c-10b084fb9324",
}

# A fixed namespace so the same (scope, role, principal) always yields the same assignment name:
# re-running a stack never creates a duplicate, and a plan diff stays stable.
_ASSIGNMENT_NS = uuid.UUID("5b0f6a52-3c1e-4f55-9a7e-1f2d0c6a1d71")

# Writing or deleting a management lock needs Microsoft.Authorization/locks/*; among built-in
# roles only Owner and User Access Administrator have it, and both can also grant any role.
# The custom role below carries the lock actions and nothing else.
# https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources#who-can-create-or-delete-locks
LOCK_DOC = (
    "https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources"
    "#who-can-create-or-delete-locks"
)
LOCK_ACTIONS = (
    "Microsoft.Authorization/locks/read",
    "Microsoft.Authorization/locks/write",
    "Microsoft.Authorization/locks/delete",
)
# Built-in roles whose actions include the lock actions (Owner: "*"; UAA: Microsoft.Authorization/*).
LOCK_CAPABLE_BUILTINS = ("Owner", "User Access Administrator")


_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers"
# CI deploys the backup stack with Contributor minus what destroys backups or reveals the
# account key. NotActions subtract only within this role
# (learn.microsoft.com/azure/role-based-access-control/role-definitions#notactions).
BACKUP_DEPLOYER_NOT_ACTIONS = (
    # Contributor's own NotActions that matter here.
    "Microsoft.Authorization/*/Delete",
    "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    # The key, and account SAS signed with it, reach every blob version.
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/storageAccounts/regenerateKey/action",
    "Microsoft.Storage/storageAccounts/ListAccountSas/action",
    "Microsoft.Storage/storageAccounts/delete",
    # Deleting a container deletes every blob and version in it.
    f"{_BLOBS}/delete",
    f"{_BLOBS}/immutabilityPolicies/delete",
    f"{_BLOBS}/immutabilityPolicies/write",
    "Microsoft.RecoveryServices/vaults/delete",
    "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems/delete",
)
# The central prune: read the repositories, write new packs and indexes, delete current
# blobs. No deleteBlobVersion: every pack it removes stays as a version until the lifecycle
# rule expires it (learn.microsoft.com/azure/storage/blobs/versioning-overview).
PRUNER_ACTIONS = (f"{_BLOBS}/read",)
PRUNER_DATA_ACTIONS = (
    f"{_BLOBS}/blobs/read",
    f"{_BLOBS}/blobs/write",
    f"{_BLOBS}/blobs/delete",
    f"{_BLOBS}/blobs/add/action",
)


# Roles that let a principal grant access (or do anything): never delegated through CI.
PRIVILEGED_ROLES = ("Owner", "User Access Administrator", "Role Based Access Control Administrator")
# Built-in roles the stacks hand out through CI; the CI's RBAC Administrator assignments are
# conditioned to these (plus the custom lock role) and to groups and service principals.
# No data-plane writer or administrator (Key Vault Administrator, Storage Blob Data
# Contributor): CI could hand those to a principal it controls.
DELEGABLE_ROLES = (
    "Reader",
    "Network Contributor",
    "Key Vault Secrets User",
    "Backup Operator",
    "Storage Blob Data Reader",
)
# Groups only. CI may create managed identities (service principals) and act as them, so a
# role it may hand to a service principal is a role it may hand to itself. Microsoft's
# delegation examples constrain "the principals the roles can be assigned to" the same way
# (learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-portal).
# Every role the stacks give a service principal is CI's own, assigned by the Owner's first run.
DELEGATED_PRINCIPAL_TYPES = ("Group",)
# Assigned by the Owner's first `pulumi up` and never by CI: a data administrator handed to a
# principal CI controls would raise CI's own rights (docs/security.md).
OWNER_ASSIGNED_ROLES = ("Key Vault Administrator",)
CONDITION_DOC = (
    "https://learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples"
)


def delegation_condition(role_guids: list[str], exclude_principal: str | None = None) -> str:
    """An ABAC condition for a Role Based Access Control Administrator assignment: it may
    only create or delete assignments of these role definitions, to groups and service
    principals, and never to `exclude_principal` (the holder itself). Without it the holder
    could make itself Owner."""
    guids = ", ".join(sorted({g.lower() for g in role_guids}))
    types = ", ".join(f"'{t}'" for t in DELEGATED_PRINCIPAL_TYPES)

    def clause(action: str, source: str) -> str:
        not_self = (
            f" AND @{source}[Microsoft.Authorization/roleAssignments:PrincipalId] "
            f"ForAnyOfAllValues:GuidNotEquals {{{exclude_principal.lower()}}}"
            if exclude_principal
            else ""
        )
        return (
            f"( ( !(ActionMatches{{'Microsoft.Authorization/roleAssignments/{action}'}}) ) OR "
            f"( @{source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
            f"ForAnyOfAnyValues:GuidEquals {{{guids}}} AND "
            f"@{source}[Microsoft.Authorization/roleAssignments:PrincipalType] "
            f"ForAnyOfAnyValues:StringEqualsIgnoreCase {{{types}}}{not_self} ) )"
        )

    return f"{clause('write', 'Request')} AND {clause('delete', 'Resource')}"


def delegation_condition_output(
    extra_roles: list[str],
    custom_role_ids: list[pulumi.Input[str]],
    exclude_principal: pulumi.Input[str] | None = None,
) -> pulumi.Output[str]:
    """delegation_condition over the delegable built-ins, `extra_roles` (built-in names, the
    privileged ones left out) and custom role definition ids known only at deploy time; the
    holder's own principal id, when given, may never be a target."""
    names = [r for r in (*DELEGABLE_ROLES, *extra_roles) if r not in PRIVILEGED_ROLES]
    builtin = [BUILTIN_ROLES[r] for r in names]
    return pulumi.Output.all(exclude_principal, *custom_role_ids).apply(
        lambda parts: delegation_condition(
            builtin + [str(i).rsplit("/", 1)[-1] for i in parts[1:]],
            str(parts[0]) if parts[0] else None,
        )
    )


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """The full role definition id of a built-in role in this subscription."""
    guid = BUILTIN_ROLES[role]
    return pulumi.Output.concat(
        "/subscriptions/",
        subscription_id,
        "/providers/Microsoft.Authorization/roleDefinitions/",
        guid,
    )


def assignment_name(scope: str, role_definition: str, principal_id: str) -> str:
    """A deterministic GUID for a role assignment from the real scope, role definition id and
    principal id: Azure needs the name unique in the whole tenant, so two environments (or
    two stacks) that differ in any of the three never share a name."""
    key = "|".join(part.strip().lower() for part in (scope, role_definition, principal_id))
    return str(uuid.uuid5(_ASSIGNMENT_NS, key))


def assignment_name_output(
    scope: pulumi.Input[str],
    role_definition: pulumi.Input[str],
    principal_id: pulumi.Input[str],
) -> pulumi.Output[str]:
    """assignment_name over values that are only known once their resources exist."""
    return pulumi.Output.all(scope, role_definition, principal_id).apply(
        lambda parts: assignment_name(str(parts[0]), str(parts[1]), str(parts[2]))
    )


def custom_role_guid(subscription_id: str, role_name: str) -> str:
    """A deterministic GUID for a custom role definition (also unique per tenant)."""
    return str(uuid.uuid5(_ASSIGNMENT_NS, f"role-definition|{subscription_id.lower()}|{role_name}"))
