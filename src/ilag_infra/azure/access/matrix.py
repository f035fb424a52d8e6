"""The capability matrix: for each identity and municipality, what it can do to the backups
(and to the records container beside them).

Each cell says why, naming the role or setting that grants it, and links the documentation
that says so. Paths that take more than one step (switch a protection off, then delete) count:
one identity able to take every step can destroy a version on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ilag_infra.azure.access import conditions, rbac
from ilag_infra.azure.access.facts import Assignment, Facts

CAPABILITIES = (
    "read-backup",
    "write-backup",
    "delete-backup-version",
    "disable-protection",
    "grant-access",
    "read-secret",
    # The records container (records-<slug>): the node's run records and its apply lease.
    "read-records",
    "write-records",
)
RECORDS_CAPABILITIES = ("read-records", "write-records")

# The kinds of row identities() builds ("site:andoy" is of kind "site").
IDENTITY_KINDS = (
    "site",
    "node",
    "technician",
    "operators",
    "ci-deploy",
    "ci-preview",
    "state-holder",
    "contributor",
    "owner",
)

_ST = "Microsoft.Storage/storageAccounts"
_BLOBS = f"{_ST}/blobServices/containers/blobs"
LIST_KEYS = f"{_ST}/listKeys/action"
REGENERATE_KEY = f"{_ST}/regenerateKey/action"
LIST_SERVICE_SAS = f"{_ST}/ListServiceSas/action"
LIST_ACCOUNT_SAS = f"{_ST}/ListAccountSas/action"
ACCOUNT_WRITE = f"{_ST}/write"
ACCOUNT_DELETE = f"{_ST}/delete"
BLOB_SERVICE_WRITE = f"{_ST}/blobServices/write"
MANAGEMENT_POLICY_WRITE = f"{_ST}/managementPolicies/write"
CONTAINER_DELETE = f"{_ST}/blobServices/containers/delete"
WORM_WRITE = f"{_ST}/blobServices/containers/immutabilityPolicies/write"
WORM_DELETE = f"{_ST}/blobServices/containers/immutabilityPolicies/delete"
DATA_READ = f"{_BLOBS}/read"
DATA_WRITE = f"{_BLOBS}/write"
DATA_ADD = f"{_BLOBS}/add/action"
DATA_DELETE_VERSION = f"{_BLOBS}/deleteBlobVersion/action"
LOCK_DELETE = "Microsoft.Authorization/locks/delete"
ROLE_ASSIGN = "Microsoft.Authorization/roleAssignments/write"
ROLE_DEFINE = "Microsoft.Authorization/roleDefinitions/write"
GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
VAULT_WRITE = "Microsoft.RecoveryServices/vaults/write"
VAULT_POLICY_WRITE = "Microsoft.RecoveryServices/vaults/backupPolicies/write"
BACKUP_VAULT_WRITE = "Microsoft.DataProtection/backupVaults/write"
BACKUP_INSTANCE_DELETE = "Microsoft.DataProtection/backupVaults/backupInstances/delete"

DOC_SHARED_KEY = (
    "https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent"
    "#understand-how-disallowing-shared-key-affects-sas-tokens"
)
DOC_LIST_KEYS = (
    "https://learn.microsoft.com/azure/storage/blobs/authorize-data-operations-portal"
    "#use-the-account-access-key"
)
DOC_DATA_ROLES = "https://learn.microsoft.com/azure/storage/blobs/assign-azure-role-data-access"
DOC_SAS = "https://learn.microsoft.com/rest/api/storageservices/create-service-sas#permissions-for-a-directory-container-or-blob"
DOC_VERSION_DELETE = "https://learn.microsoft.com/azure/storage/blobs/versioning-overview#authorize-operations-on-blob-versions"
DOC_WORM = "https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies"
DOC_WORM_LOCK = "https://learn.microsoft.com/azure/storage/blobs/immutable-time-based-retention-policy-overview#locked-versus-unlocked-policies"
DOC_LIFECYCLE = "https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview"
DOC_SOFT_DELETE = "https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview"
DOC_CONTAINER_DELETE = "https://learn.microsoft.com/rest/api/storagerp/blob-containers/delete"
DOC_KV_RBAC = (
    "https://learn.microsoft.com/azure/key-vault/general/rbac-guide"
    "#best-practices-for-individual-keys-secrets-and-certificates-role-assignments"
)
DOC_LOCKS = "https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources"
DOC_VAULT = "https://learn.microsoft.com/azure/backup/backup-azure-enhanced-soft-delete-about"
DOC_VAULT_IMMUTABLE = (
    "https://learn.microsoft.com/azure/backup/backup-azure-immutable-vault-concept"
)
DOC_BLOB_VAULTED = "https://learn.microsoft.com/azure/backup/blob-backup-overview"
# Where the decision and the restore path are written down.
DOC_SECOND_COPY = "docs/security.md#the-second-copy"
DOC_ABAC = (
    "https://learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-overview"
)
DOC_DELEGATE = (
    "https://learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-portal"
)
# Actions that create a service principal its creator can then act as: a user-assigned
# managed identity (with a federated credential, or attached to compute the creator runs).
MAKES_PRINCIPAL = (
    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
    "Microsoft.Resources/deploymentScripts/write",
)


@dataclass(frozen=True)
class Cell:
    identity: str
    municipality: str
    capability: str
    allowed: bool
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "municipality": self.municipality,
            "capability": self.capability,
            "allowed": self.allowed,
            "why": self.why,
        }


def _covers(scope: str, target: str) -> bool:
    s, t = scope.rstrip("/").lower(), target.rstrip("/").lower()
    return bool(s) and (t == s or t.startswith(s + "/"))


def _short(scope: str) -> str:
    return scope.rstrip("/").rsplit("/", 1)[-1] or scope


class Identity:
    """One row: its role assignments, and the site and records credentials it holds."""

    def __init__(
        self,
        name: str,
        assignments: list[Assignment],
        sas: dict[str, str],
        note: str = "",
        principal_type: str = "Group",
        records: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.principal_type = principal_type
        self.assignments = assignments
        self.sas = sas  # slug -> SAS permissions held
        self.note = note
        self.records = records or {}  # slug -> records SAS permissions held

    def grant(self, action: str, target: str, data: bool = False) -> Assignment | None:
        for a in self.assignments:
            if not _covers(a.scope, target):
                continue
            if (a.role.permits_data(action) if data else a.role.permits(action)) and (
                a.condition is None
                or not action.startswith("Microsoft.Authorization/roleAssignments")
            ):
                return a
        return None


def _by(a: Assignment, action: str, doc: str) -> str:
    return f"{a.role.name} on {_short(a.scope)} permits {action} ({doc})"


class _Judge:
    def __init__(self, facts: Facts) -> None:
        self.f = facts

    def shared_key(self, who: Identity) -> str | None:
        if not self.f.shared_key or not self.f.account_id:
            return None
        for action in (LIST_KEYS, REGENERATE_KEY, LIST_ACCOUNT_SAS, LIST_SERVICE_SAS):
            a = who.grant(action, self.f.account_id)
            if a is not None:
                return (
                    f"{a.role.name} on {_short(a.scope)} permits {action} and "
                    f"allowSharedKeyAccess is true: the key (or a SAS it signs) reaches every "
                    f"blob and version ({DOC_LIST_KEYS})"
                )
        return None

    def read(self, who: Identity, slug: str, target: str) -> tuple[bool, str]:
        return self._reads(who, who.sas.get(slug, ""), f"{slug}'s site SAS", target)

    def write(self, who: Identity, slug: str, target: str) -> tuple[bool, str]:
        return self._writes(who, who.sas.get(slug, ""), f"{slug}'s site SAS", target)

    def _reads(self, who: Identity, perms: str, held: str, target: str) -> tuple[bool, str]:
        if "r" in perms:
            return True, f"holds {held} with r ({DOC_SAS}){who.note}"
        a = who.grant(DATA_READ, target, data=True)
        if a is not None:
            return True, _by(a, DATA_READ, DOC_DATA_ROLES)
        key = self.shared_key(who)
        return (True, key) if key else (False, "no role, key or SAS that reads this container")

    def _writes(self, who: Identity, perms: str, held: str, target: str) -> tuple[bool, str]:
        if set(perms) & set("wac"):
            return True, f"holds {held} with {perms} ({DOC_SAS}){who.note}"
        for action in (DATA_WRITE, DATA_ADD):
            a = who.grant(action, target, data=True)
            if a is not None:
                return True, _by(a, action, DOC_DATA_ROLES)
        key = self.shared_key(who)
        return (True, key) if key else (False, "no role, key or SAS that writes this container")

    def _version_deleter(self, who: Identity, slug: str, target: str) -> str | None:
        """A way to delete a version when nothing immutable stands in the way."""
        if "x" in who.sas.get(slug, ""):
            return f"holds {slug}'s SAS with x, which deletes versions ({DOC_SAS})"
        a = who.grant(DATA_DELETE_VERSION, target, data=True)
        if a is not None:
            return _by(a, DATA_DELETE_VERSION, DOC_VERSION_DELETE)
        key = self.shared_key(who)
        if key:
            return key
        a = who.grant(MANAGEMENT_POLICY_WRITE, self.f.account_id)
        if a is not None:
            return (
                _by(a, MANAGEMENT_POLICY_WRITE, DOC_LIFECYCLE)
                + ": a lifecycle rule deletes versions by age"
            )
        # The account's CanNotDelete lock is not counted as stopping this: the control plane
        # deletes the container and, with it, every blob and version.
        a = who.grant(CONTAINER_DELETE, target)
        if a is not None:
            return _by(a, CONTAINER_DELETE, DOC_CONTAINER_DELETE) + " with every version in it"
        return None

    def worm_remover(self, who: Identity) -> str | None:
        for action in (WORM_DELETE, WORM_WRITE):
            a = who.grant(action, self.f.account_id)
            if a is not None:
                return _by(a, action, DOC_WORM_LOCK) + " while the policy is unlocked"
        return None

    def lock_remover(self, who: Identity) -> Assignment | None:
        return who.grant(LOCK_DELETE, self.f.account_id)

    def delete_version(self, who: Identity, slug: str, target: str) -> tuple[bool, str]:
        """Destroying a version inside retention takes both copies: the account's and the
        Backup vault's (when the vault copies this container)."""
        allowed, why = self._delete_in_account(who, slug, target)
        if not allowed:
            return allowed, why
        box = self.f.containers.get(slug)
        copy = self.f.second_copy
        if copy is None or box is None or box.name not in copy.containers:
            return True, f"{why}; no second copy of the container ({DOC_SECOND_COPY})"
        if copy.immutability == "Locked" and copy.soft_delete == "AlwaysOn":
            return False, (
                f"{why}, but the Backup vault {_short(copy.vault_id)} keeps its copy "
                f"{copy.retention_days} days: immutability Locked refuses deleting recovery "
                f"points or reducing retention, and always-on soft delete cannot be switched "
                f"off, by anyone ({DOC_VAULT_IMMUTABLE}; {DOC_SECOND_COPY})"
            )
        for action in (BACKUP_VAULT_WRITE, BACKUP_INSTANCE_DELETE):
            a = who.grant(action, copy.vault_id)
            if a is not None:
                loose = f"immutability {copy.immutability or 'unset'}, soft delete " + (
                    copy.soft_delete or "unset"
                )
                return True, (
                    f"{why}; and {_by(a, action, DOC_VAULT_IMMUTABLE)}: the vault's copy "
                    f"goes too ({loose}; {DOC_SECOND_COPY})"
                )
        return False, (
            f"{why}, but no role on the Backup vault {_short(copy.vault_id)} that deletes its "
            f"copy ({DOC_BLOB_VAULTED}; {DOC_SECOND_COPY})"
        )

    def _delete_in_account(self, who: Identity, slug: str, target: str) -> tuple[bool, str]:
        box = self.f.containers.get(slug)
        path = self._version_deleter(who, slug, target)
        # Deleting the whole account takes every version with it, if no lock stops it.
        acct = who.grant(ACCOUNT_DELETE, self.f.account_id)
        if path is None and acct is not None:
            locked = any(_covers(s, self.f.account_id) for s in self.f.locks)
            lock = self.lock_remover(who) if locked else None
            if not locked or lock is not None:
                path = _by(acct, ACCOUNT_DELETE, DOC_LOCKS) + (
                    f", and {lock.role.name} removes the lock" if lock else ", and no lock"
                )
        if path is None:
            return False, "no key, SAS, role or lifecycle rule that deletes a version"
        if box is not None and box.worm_days > 0:
            if box.worm_locked:
                return False, (
                    f"{path}, but a locked {box.worm_days}-day WORM policy refuses every delete "
                    f"inside it ({DOC_WORM})"
                )
            remover = self.worm_remover(who)
            if remover is None:
                return False, (
                    f"{path}, but the {box.worm_days}-day WORM policy refuses it, and this "
                    f"identity cannot shorten or delete the policy ({DOC_WORM})"
                )
            return True, f"{remover}, then {path}"
        return True, f"{path}; no WORM retention policy on the container ({DOC_WORM})"

    def disable(self, who: Identity, slug: str) -> tuple[bool, str]:
        f = self.f
        box = f.containers.get(slug)
        if f.account_id:
            a = who.grant(BLOB_SERVICE_WRITE, f.account_id)
            if a is not None:
                return True, _by(a, BLOB_SERVICE_WRITE, DOC_SOFT_DELETE) + (
                    ": switches blob soft delete (and versioning, where WORM allows) off"
                )
            if box is not None and box.worm_days > 0 and not box.worm_locked:
                remover = self.worm_remover(who)
                if remover is not None:
                    return True, remover
            lock = self.lock_remover(who)
            if lock is not None and any(_covers(s, f.account_id) for s in f.locks):
                return True, _by(lock, LOCK_DELETE, DOC_LOCKS) + ": removes the account's lock"
        if f.vault_id:
            a = who.grant(VAULT_WRITE, f.vault_id)
            policy = who.grant(VAULT_POLICY_WRITE, f.vault_id)
            if policy is not None and f.vault_immutability != "Locked":
                return True, _by(policy, VAULT_POLICY_WRITE, DOC_VAULT_IMMUTABLE) + (
                    ": shortens retention, which only a locked immutable vault refuses"
                )
            loose = []
            if f.vault_soft_delete != "AlwaysON":
                loose.append(f"soft delete {f.vault_soft_delete or 'unset'}")
            if f.vault_immutability != "Locked":
                loose.append(f"immutability {f.vault_immutability or 'unset'}")
            if a is not None and loose:
                why = _by(a, VAULT_WRITE, DOC_VAULT)
                return True, f"{why}: the vault's {' and '.join(loose)} can be switched off"
        copy = f.second_copy
        if copy is not None and (copy.immutability, copy.soft_delete) != ("Locked", "AlwaysOn"):
            a = who.grant(BACKUP_VAULT_WRITE, copy.vault_id)
            if a is not None:
                return True, _by(a, BACKUP_VAULT_WRITE, DOC_VAULT_IMMUTABLE) + (
                    f": the second copy's immutability {copy.immutability or 'unset'} and soft "
                    f"delete {copy.soft_delete or 'unset'} can be switched off"
                )
        return (
            False,
            "cannot switch off versioning, soft delete, WORM, a lock or the vault's protections",
        )

    def read_records(self, who: Identity, slug: str) -> tuple[bool, str]:
        box = self.f.records.get(slug)
        if box is None:
            return False, f"no records container of {slug} is planned"
        return self._reads(who, who.records.get(slug, ""), f"{slug}'s records SAS", box.id)

    def write_records(self, who: Identity, slug: str) -> tuple[bool, str]:
        """Write or overwrite a record, or take the apply lease (`w` leases a blob)."""
        box = self.f.records.get(slug)
        if box is None:
            return False, f"no records container of {slug} is planned"
        return self._writes(who, who.records.get(slug, ""), f"{slug}'s records SAS", box.id)

    def read_secret(self, who: Identity, slug: str) -> tuple[bool, str]:
        """The municipality's secrets: its site credential held, or any of its Key Vault
        secrets (site SAS, restic password escrow) read. The reason names each one read."""
        found = []
        if who.sas.get(slug):
            found.append(f"holds {slug}'s site SAS ({DOC_SAS}){who.note}")
        secrets = self.f.secrets.get(slug) or {}
        for name, secret in sorted(secrets.items()):
            a = who.grant(GET_SECRET, secret, data=True)
            if a is not None:
                found.append(f"reads {name}: {_by(a, GET_SECRET, DOC_KV_RBAC)}")
        if found:
            return True, "; ".join(found)
        if not secrets:
            return False, f"no Key Vault secret of {slug} is planned"
        return False, f"no role on {slug}'s secrets ({', '.join(sorted(secrets))}) or on its vault"

    def grant_access(self, who: Identity, target: str) -> tuple[bool, str]:
        for action in (ROLE_ASSIGN, ROLE_DEFINE):
            for a in who.assignments:
                if not _covers(a.scope, target) or not a.role.permits(action):
                    continue
                if a.condition is None:
                    return True, _by(a, action, DOC_ABAC) + " without a condition"
                reason = self._condition_leak(who, a)
                if reason:
                    return True, reason
        return False, "cannot assign roles to itself"

    def _condition_leak(self, who: Identity, a: Assignment) -> str | None:
        """A conditioned role-assignment writer still raises its own rights when the
        condition lets it assign a role that carries more to itself, or to a principal it
        controls (a managed identity it can create)."""
        limits = conditions.parse(a.condition)
        strong = sorted(r.name for r in self._roles() if limits.may_assign(r.guid) and _strong(r))
        if not strong:
            return None
        own = {x.principal_id for x in who.assignments if x.principal_id}
        to_self = any(limits.may_target(who.principal_type, pid) for pid in own or {""})
        made = self.controlled_principal(who)
        if to_self:
            target = "its own principal"
        elif made and limits.may_target("ServicePrincipal"):
            target = f"a managed identity it creates ({made})"
        else:
            return None
        return (
            f"{a.role.name} on {_short(a.scope)} may assign {', '.join(strong)} to {target} "
            f"({DOC_ABAC}; {DOC_DELEGATE})"
        )

    def _roles(self) -> list[rbac.RoleDef]:
        return [*rbac.builtin().by_name.values(), *self.f.custom_roles.values()]

    def controlled_principal(self, who: Identity) -> str | None:
        """A service principal this identity can make and then act as."""
        for a in who.assignments:
            for action in MAKES_PRINCIPAL:
                if a.role.permits(action):
                    return f"{a.role.name} on {_short(a.scope)} permits {action}"
        return None


def _strong(role: rbac.RoleDef) -> bool:
    """A role that reaches backup data, keys, secrets or further role assignments."""
    return (
        role.permits_data(DATA_READ)
        or role.permits_data(DATA_WRITE)
        or role.permits_data(DATA_DELETE_VERSION)
        or role.permits(LIST_KEYS)
        or role.permits(ROLE_ASSIGN)
        or role.permits(LOCK_DELETE)
        or role.permits(WORM_DELETE)
        or role.permits_data("Microsoft.KeyVault/vaults/secrets/getSecret/action")
    )


def identities(facts: Facts) -> list[Identity]:
    """The rows of the threat model, in the order docs/security.md lists them."""
    rows: list[Identity] = []
    slugs = sorted(facts.containers)

    def site(slug: str) -> dict[str, str]:
        sas = facts.site_sas.get(slug)
        return {slug: sas.permissions} if sas else {}

    def records(slug: str) -> dict[str, str]:
        sas = facts.records_sas.get(slug)
        return {slug: sas.permissions} if sas else {}

    for slug in slugs:
        rows.append(Identity(f"site:{slug}", [], site(slug)))
    # The municipality's node runs its checks and applies: it holds the site's backup
    # credential and its own records SAS, and no role.
    for slug in slugs:
        rows.append(Identity(f"node:{slug}", [], site(slug), records=records(slug)))
    for slug in slugs:
        own = [a for a in facts.assignments if a.principal == f"technician:{slug}"]
        # A technician is root on the municipality's own servers, the node among them, which
        # hold the site SAS and the records SAS.
        rows.append(
            Identity(
                f"technician:{slug}",
                own,
                site(slug),
                " (root on the municipality's own servers)",
                records=records(slug),
            )
        )
    labels = ["operators", "ci-deploy", "ci-preview"]
    for label in labels:
        kind = "ServicePrincipal" if label.startswith("ci-") else "Group"
        own = [a for a in facts.assignments if a.principal == label]
        rows.append(Identity(label, own, {}, principal_type=kind))
    # Pulumi state with its secrets provider decrypts every site and records SAS (outputs).
    rows.append(
        Identity(
            "state-holder",
            [],
            {s: v.permissions for s, v in facts.site_sas.items()},
            " (decrypted from the backup stack's outputs; its config holds every restic "
            "password, ilag:resticPasswords)",
            records={s: v.permissions for s, v in facts.records_sas.items()},
        )
    )
    cat = rbac.builtin()
    if facts.backup_rg_id:
        rows.append(
            Identity(
                "contributor",
                [Assignment("contributor", "", facts.backup_rg_id, cat.by_name["Contributor"])],
                {},
            )
        )
    rows.append(
        Identity(
            "owner",
            [Assignment("owner", "", f"/subscriptions/{facts.subscription}", cat.by_name["Owner"])],
            {},
        )
    )
    return rows


def compute(facts: Facts) -> list[Cell]:
    judge = _Judge(facts)
    cells: list[Cell] = []
    for who in identities(facts):
        for slug, box in sorted(facts.containers.items()):
            target = box.id
            checks = {
                "read-backup": judge.read(who, slug, target),
                "write-backup": judge.write(who, slug, target),
                "delete-backup-version": judge.delete_version(who, slug, target),
                "disable-protection": judge.disable(who, slug),
                "grant-access": judge.grant_access(who, target),
                "read-secret": judge.read_secret(who, slug),
                "read-records": judge.read_records(who, slug),
                "write-records": judge.write_records(who, slug),
            }
            for cap in CAPABILITIES:
                allowed, why = checks[cap]
                cells.append(Cell(who.name, slug, cap, allowed, why))
    return cells
