"""The second copy: a Backup vault (vaulted blob backup) that takes destroying a backup version
out of reach of the account key, and `ilag plan` failing on a production stack without it."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from ilag_infra.azure import backup_copy, plan
from ilag_infra.azure.access import facts, intended, matrix, outcome, rbac
from ilag_infra.cli.app import main
from ilag_infra.model.errors import InputError
from ilag_infra.model.region import load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def planned() -> list[plan.PlanResult]:
    return plan.run_many(list(plan.STACK_ORDER), root=REPO)


@pytest.fixture(scope="module")
def technicians() -> dict[str, str]:
    model = load(REPO / "region.yaml").model
    return {m.slug: m.technician_group_object_id for m in model.municipalities}


def _backup(results: list[plan.PlanResult]) -> plan.PlanResult:
    return next(r for r in results if r.stack == "backup")


def _cell(cells: list[matrix.Cell], who: str, slug: str, cap: str) -> matrix.Cell:
    return next(
        c for c in cells if c.identity == who and c.municipality == slug and c.capability == cap
    )


def test_the_vault_sits_in_its_own_group_locked_and_always_on(planned) -> None:  # type: ignore[no-untyped-def]
    res = _backup(planned).resources
    vault = next(r for r in res if r.type == facts.BACKUP_VAULT)
    account = next(r for r in res if r.type == facts.STORAGE_ACCOUNT)
    assert vault.inputs["resourceGroupName"] == "rg-ilag-backupcopy-prod-noe"
    assert vault.inputs["resourceGroupName"] != account.inputs["resourceGroupName"]
    assert vault.inputs["location"] == "norwayeast"
    assert vault.inputs["tags"]["service"] == "backupcopy"
    assert set(vault.inputs["tags"]) == set(account.inputs["tags"])
    sec = vault.inputs["properties"]["securitySettings"]
    assert sec["immutabilitySettings"]["state"] == "Locked"
    assert sec["softDeleteSettings"]["state"] == "AlwaysOn"
    assert any(r.type == facts.LOCKS[0] and "bvault" in str(r.inputs["lockName"]) for r in res)


def test_the_instance_copies_every_backup_container_and_no_records(planned) -> None:  # type: ignore[no-untyped-def]
    res = _backup(planned).resources
    names = {str(r.inputs["containerName"]) for r in res if r.type == facts.CONTAINER}
    backups = {n for n in names if n.startswith("backup-")}
    inst = next(r for r in res if r.type == facts.BACKUP_INSTANCE)
    params = inst.inputs["properties"]["policyInfo"]["policyParameters"]
    listed = set(params["backupDatasourceParametersList"][0]["containersList"])
    assert listed == backups and len(backups) >= 5
    # The vault's identity holds Storage Account Backup Contributor on the source account.
    grant = next(
        r
        for r in res
        if r.type == facts.ROLE_ASSIGNMENT
        and str(r.inputs["roleDefinitionId"]).endswith(
            backup_copy.STORAGE_ACCOUNT_BACKUP_CONTRIBUTOR
        )
    )
    assert str(grant.inputs["scope"]).endswith("/storageAccounts/" + account_name(res))
    policy = next(r for r in res if r.type == facts.BACKUP_POLICY)
    rules = policy.inputs["properties"]["policyRules"]
    assert any(
        life["deleteAfter"]["duration"] == "P30D" for r in rules for life in r.get("lifecycles", [])
    )


def account_name(res: list) -> str:  # type: ignore[type-arg]
    return str(next(r for r in res if r.type == facts.STORAGE_ACCOUNT).inputs["accountName"])


def test_the_copy_closes_the_key_holders_gaps(planned, technicians) -> None:  # type: ignore[no-untyped-def]
    f = facts.gather(planned, technicians)
    assert f.second_copy is not None and f.second_copy.retention_days == 30
    cells = matrix.compute(f)
    for who in ("ci-deploy", "contributor"):
        for slug in technicians:
            cell = _cell(cells, who, slug, "delete-backup-version")
            assert not cell.allowed, cell
            # The key still deletes in the account: the vault's copy is what survives.
            assert "Backup vault bvault-ilag-backup-prod-noe" in cell.why
            assert "Locked" in cell.why
    # And the intended matrix no longer needs them as declared gaps.
    wanted = intended.load(REPO / outcome.INTENDED)
    assert not [g for g in wanted.gaps if g.capability == "delete-backup-version"]


def test_an_unlocked_vault_is_no_second_copy_for_its_deployer(planned, technicians) -> None:  # type: ignore[no-untyped-def]
    f = facts.gather(planned, technicians)
    assert f.second_copy is not None
    f.second_copy = dataclasses.replace(f.second_copy, immutability="Unlocked")
    cells = matrix.compute(f)
    ci = _cell(cells, "ci-deploy", "bo", "delete-backup-version")
    assert ci.allowed and "backupVaults/write" in ci.why
    # A Contributor on the storage account's group has no role on the vault's group.
    assert not _cell(cells, "contributor", "bo", "delete-backup-version").allowed
    # Whoever may write an unlocked vault can switch its protections off.
    ops = next(a for a in f.assignments if a.principal == "operators")
    group = f.second_copy.vault_id.split("/providers/")[0]
    f.assignments.append(
        facts.Assignment("operators", ops.principal_id, group, _role("Contributor"))
    )
    cell = _cell(matrix.compute(f), "operators", "bo", "disable-protection")
    assert cell.allowed and "second copy" in cell.why


def _role(name: str) -> rbac.RoleDef:
    return rbac.builtin().by_name[name]


def test_without_the_copy_and_without_worm_the_plan_names_identity_and_doc(  # type: ignore[no-untyped-def]
    planned, technicians
) -> None:
    ups = {r.stack: r.outputs for r in planned if r.stack != "backup"}
    bare = plan.run("backup", root=REPO, upstream=ups, config={"ilag:backupCopyDays": "0"})
    assert not [r for r in bare.resources if r.type == facts.BACKUP_VAULT]
    results = [r for r in planned if r.stack != "backup"] + [bare]
    diffs, _ = intended.compare(
        matrix.compute(facts.gather(results, technicians)),
        intended.load(REPO / outcome.INTENDED),
    )
    found = {(d.cell.identity, d.cell.capability) for d in diffs}
    assert ("ci-deploy", "delete-backup-version") in found
    assert ("contributor", "delete-backup-version") in found
    msg = next(d.message for d in diffs if d.cell.identity == "ci-deploy")
    assert msg.startswith("ci-deploy delete-backup-version on ")
    assert "docs/security.md#the-second-copy" in msg and "https://learn.microsoft.com/" in msg


def test_ilag_plan_exits_1_on_a_production_stack_without_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("region.yaml", "Pulumi.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("inventories", "stacks", "policy"):
        shutil.copytree(REPO / name, tmp_path / name)
    stack = tmp_path / "stacks" / "Pulumi.backup.yaml"
    text = stack.read_text("utf-8")
    assert "ilag:backupCopyDays: 30" in text and "ilag:backupImmutabilityDays: 0" in text
    stack.write_text(text.replace("ilag:backupCopyDays: 30", "ilag:backupCopyDays: 0"), "utf-8")
    monkeypatch.setenv("ILAG_ROOT", str(tmp_path))
    assert main(["plan", "--json"]) == 1
    err = capsys.readouterr().err
    assert "access: ci-deploy delete-backup-version on " in err
    assert "docs/security.md#the-second-copy" in err
    # With WORM retention instead of the copy, the key holders are stopped in the account.
    stack.write_text(
        text.replace("ilag:backupCopyDays: 30", "ilag:backupCopyDays: 0").replace(
            "ilag:backupImmutabilityDays: 0", "ilag:backupImmutabilityDays: 30"
        ),
        "utf-8",
    )
    main(["plan", "--json"])
    assert "access: ci-deploy delete-backup-version" not in capsys.readouterr().err


@pytest.mark.parametrize("days", ["3651", "-1", "a month"])
def test_a_retention_azure_backup_refuses_is_bad_input(planned, days: str) -> None:  # type: ignore[no-untyped-def]
    ups = {r.stack: r.outputs for r in planned if r.stack != "backup"}
    with pytest.raises(InputError) as err:
        plan.run("backup", root=REPO, upstream=ups, config={"ilag:backupCopyDays": days})
    problem = next(p for p in err.value.problems if p.key == "ilag:backupCopyDays")
    # Out of range names the range; not a number asks for one.
    assert "3650" in problem.fix if days.lstrip("-").isdigit() else "number" in problem.fix
