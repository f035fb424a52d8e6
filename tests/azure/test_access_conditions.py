"""The CI's delegation condition, read as Azure would: what it may hand out, and to whom.

Each case is a way CI could raise its own rights; the matrix must show each one, and a
condition it cannot read must show as a leak, never as safe.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ilag_infra.azure import plan, roles
from ilag_infra.azure.access import conditions, facts, matrix, rbac
from ilag_infra.azure.roles import BUILTIN_ROLES, delegation_condition
from ilag_infra.model.region import load

REPO = Path(__file__).resolve().parents[2]
CI_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def shipped() -> facts.Facts:
    planned = plan.run_many(list(plan.STACK_ORDER), root=REPO)
    model = load(REPO / "region.yaml").model
    return facts.gather(
        planned, {m.slug: m.technician_group_object_id for m in model.municipalities}
    )


def _with_ci_condition(f: facts.Facts, condition: str) -> facts.Facts:
    g = dataclasses.replace(f)
    g.assignments = [
        dataclasses.replace(a, condition=condition)
        if a.principal == "ci-deploy" and a.condition
        else a
        for a in f.assignments
    ]
    return g


def _ci(cells: list[matrix.Cell], cap: str) -> list[matrix.Cell]:
    return [c for c in cells if c.identity == "ci-deploy" and c.capability == cap]


def _ci_id(f: facts.Facts) -> str:
    return next(a.principal_id for a in f.assignments if a.principal == "ci-deploy")


def test_the_shipped_condition_reads_as_groups_only_roles_listed_and_self_excluded() -> None:
    cond = delegation_condition([BUILTIN_ROLES["Reader"]], exclude_principal=CI_ID)
    limits = conditions.parse(cond)
    assert limits.roles == {BUILTIN_ROLES["Reader"]}
    assert limits.principal_types == {"group"}
    assert limits.excluded_principals == {CI_ID}
    assert not limits.may_target("ServicePrincipal")
    assert not limits.may_assign(BUILTIN_ROLES["Owner"])


def test_handing_contributor_to_service_principals_lets_ci_raise_its_rights(
    shipped: facts.Facts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The condition before this change: Contributor delegable to service principals. CI
    # creates a managed identity, gives it Contributor on the backup group, lists the key.
    monkeypatch.setattr(roles, "DELEGATED_PRINCIPAL_TYPES", ("Group", "ServicePrincipal"))
    old = delegation_condition([BUILTIN_ROLES["Contributor"]], exclude_principal=_ci_id(shipped))
    cells = matrix.compute(_with_ci_condition(shipped, old))
    grant = _ci(cells, "grant-access")
    assert grant and all(c.allowed for c in grant)
    assert "managed identity it creates" in grant[0].why
    assert "userAssignedIdentities/write" in grant[0].why


def test_the_shipped_stacks_never_let_ci_hand_a_role_to_a_service_principal(
    shipped: facts.Facts,
) -> None:
    ci = [a for a in shipped.assignments if a.principal == "ci-deploy" and a.condition]
    assert ci
    for a in ci:
        limits = conditions.parse(a.condition)
        assert limits.principal_types == {"group"}, a.source
        assert a.principal_id in limits.excluded_principals, a.source
        if a.scope == shipped.backup_rg_id:
            # Operators get Contributor on the network and identity groups, never on backup.
            assert not limits.may_assign(BUILTIN_ROLES["Contributor"]), a.source
    assert not any(c.allowed for c in _ci(matrix.compute(shipped), "grant-access"))


@pytest.mark.parametrize(
    "condition",
    [
        # A deny-list of roles leaves Owner open.
        "( ( !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}) ) OR "
        "( @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        "ForAnyOfAllValues:GuidNotEquals {8e3af657-a8ff-443c-a75c-2fe8c4bcb635} ) )",
        # Not the documented shape at all.
        "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] "
        "StringEquals 'x'",
        # An operator this reader does not know.
        "( ( !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}) ) OR "
        "( @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        "ForAnyOfAnyValues:GuidLike {8e3af657-a8ff-443c-a75c-2fe8c4bcb635} ) )",
    ],
)
def test_a_condition_it_cannot_read_or_that_lists_only_denials_is_a_leak(
    shipped: facts.Facts, condition: str
) -> None:
    cells = matrix.compute(_with_ci_condition(shipped, condition))
    assert all(c.allowed for c in _ci(cells, "grant-access"))


def test_not_equal_to_any_of_two_ids_excludes_nobody(shipped: facts.Facts) -> None:
    # ForAnyOfAnyValues:GuidNotEquals {self, other} is true for self (self != other).
    me = _ci_id(shipped)
    cond = (
        "( ( !(ActionMatches{'Microsoft.Authorization/roleAssignments/write'}) ) OR "
        "( @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        f"ForAnyOfAnyValues:GuidEquals {{{rbac.builtin().by_name['Storage Blob Data Owner'].guid}}} AND "
        "@Request[Microsoft.Authorization/roleAssignments:PrincipalId] "
        f"ForAnyOfAnyValues:GuidNotEquals {{{me}, {CI_ID}}} ) )"
    )
    assert conditions.parse(cond).may_target("ServicePrincipal", me)
    grant = _ci(matrix.compute(_with_ci_condition(shipped, cond)), "grant-access")
    assert all(c.allowed for c in grant) and "its own principal" in grant[0].why


def test_a_custom_role_that_lists_keys_counts_as_strong(shipped: facts.Facts) -> None:
    guid = "0f0f0f0f-0000-4000-8000-000000000001"
    f = _with_ci_condition(
        shipped,
        delegation_condition([guid], exclude_principal=None).replace(
            "'Group'", "'Group', 'ServicePrincipal'"
        ),
    )
    f.custom_roles = {
        **f.custom_roles,
        guid: rbac.RoleDef(
            "Key Lister", guid, ("Microsoft.Storage/storageAccounts/listKeys/action",), custom=True
        ),
    }
    grant = _ci(matrix.compute(f), "grant-access")
    assert all(c.allowed for c in grant) and "Key Lister" in grant[0].why


def test_ci_cannot_delete_a_container_and_would_if_the_deployer_allowed_it(
    shipped: facts.Facts,
) -> None:
    # Without the account key and the lifecycle rule (both shown elsewhere), deleting the
    # container is the remaining way to take every version at once; the Backup Deployer's
    # NotActions remove it. This is about the account alone, so without the second copy.
    f = dataclasses.replace(shipped, shared_key=False, second_copy=None)
    deployer = next(a for a in f.assignments if "Backup Deployer" in a.role.name)
    no_lifecycle = (*deployer.role.not_actions, matrix.MANAGEMENT_POLICY_WRITE)

    def deployer_without(not_actions: tuple[str, ...]) -> list[matrix.Cell]:
        role = dataclasses.replace(deployer.role, not_actions=not_actions)
        g = dataclasses.replace(f)
        g.assignments = [
            dataclasses.replace(a, role=role) if a is deployer else a for a in f.assignments
        ]
        return _ci(matrix.compute(g), "delete-backup-version")

    assert not any(c.allowed for c in deployer_without(no_lifecycle))
    loose = deployer_without(tuple(x for x in no_lifecycle if not x.endswith("containers/delete")))
    assert loose and all(c.allowed for c in loose)
    assert "containers/delete" in loose[0].why
