"""`ilag access`: the effective-permission matrix of the planned stacks, tried both ways."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ilag_infra.azure import plan, roles
from ilag_infra.azure.access import facts, intended, matrix, outcome, rbac
from ilag_infra.azure.roles import BUILTIN_ROLES, delegation_condition
from ilag_infra.cli.app import main
from ilag_infra.model.errors import InputError
from ilag_infra.model.region import load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def planned() -> list[plan.PlanResult]:
    return plan.run_many(list(plan.STACK_ORDER), root=REPO)


@pytest.fixture(scope="module")
def region_model():  # type: ignore[no-untyped-def]
    return load(REPO / "region.yaml").model


def _technicians(model) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {m.slug: m.technician_group_object_id for m in model.municipalities}


def _allowed(cells: list[matrix.Cell], identity: str, cap: str) -> set[str]:
    return {
        c.municipality
        for c in cells
        if c.identity == identity and c.capability == cap and c.allowed
    }


def test_every_role_the_stacks_use_is_in_the_data_file_with_its_guid() -> None:
    cat = rbac.builtin()
    assert cat.source.startswith("https://learn.microsoft.com/") and cat.retrieved
    for name, guid in BUILTIN_ROLES.items():
        assert name in cat.by_name, name
        assert cat.by_name[name].guid == guid, name
    # Spot checks of Azure's own definitions: Contributor lists keys but cannot assign roles.
    contributor = cat.by_name["Contributor"]
    assert contributor.permits("Microsoft.Storage/storageAccounts/listKeys/action")
    assert not contributor.permits("Microsoft.Authorization/roleAssignments/write")
    data = cat.by_name["Storage Blob Data Contributor"]
    assert not data.permits_data(matrix.DATA_DELETE_VERSION)
    assert cat.by_name["Storage Blob Data Owner"].permits_data(matrix.DATA_DELETE_VERSION)


def test_shipped_plan_matches_the_intended_matrix(planned, region_model) -> None:  # type: ignore[no-untyped-def]
    out = outcome.evaluate(planned, region_model, REPO)
    assert out.ok, [d.message for d in out.differences]
    slugs = {m.slug for m in region_model.municipalities}
    for slug in slugs:
        for who in (f"site:{slug}", f"technician:{slug}"):
            assert _allowed(out.cells, who, "read-backup") == {slug}
            assert _allowed(out.cells, who, "write-backup") == {slug}
            assert not _allowed(out.cells, who, "delete-backup-version")
    # Nobody short of the subscription Owner can give itself more.
    for c in out.cells:
        if c.capability == "grant-access" and c.identity != "owner":
            assert not c.allowed, c
    # Operators run the prune, but cannot delete a version or switch a protection off.
    assert _allowed(out.cells, "operators", "write-backup") == slugs
    assert not _allowed(out.cells, "operators", "delete-backup-version")
    assert not _allowed(out.cells, "operators", "disable-protection")


def test_owner_for_operators_on_the_backup_group_fails_naming_identity_and_doc(  # type: ignore[no-untyped-def]
    planned, region_model
) -> None:
    f = facts.gather(planned, _technicians(region_model))
    ops_id = next(a.principal_id for a in f.assignments if a.principal == "operators")
    owner = rbac.builtin().by_name["Owner"]
    f.assignments.append(facts.Assignment("operators", ops_id, f.backup_rg_id, owner))
    diffs, _ = intended.compare(matrix.compute(f), intended.load(REPO / outcome.INTENDED))
    caps = {(d.cell.identity, d.cell.capability) for d in diffs}
    assert ("operators", "grant-access") in caps
    assert ("operators", "disable-protection") in caps
    # Owner of the storage account's group still cannot reach the Backup vault's copy, which
    # sits in a group of its own, locked.
    assert ("operators", "delete-backup-version") not in caps
    msg = next(d.message for d in diffs if d.cell.capability == "grant-access")
    assert "Owner on rg-ilag-backup" in msg and "https://learn.microsoft.com/" in msg


def test_the_old_ci_condition_lets_ci_raise_its_own_rights(
    planned, region_model, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    f = facts.gather(planned, _technicians(region_model))
    # Before: service principals were allowed targets, and CI is one.
    monkeypatch.setattr(roles, "DELEGATED_PRINCIPAL_TYPES", ("Group", "ServicePrincipal"))
    ci = [a for a in f.assignments if a.principal == "ci-deploy" and a.condition]
    assert ci and all(a.principal_id in (a.condition or "").lower() for a in ci)
    # The condition of before: Key Vault Administrator and data roles, no self-exclusion.
    old = delegation_condition(
        [BUILTIN_ROLES["Key Vault Administrator"], BUILTIN_ROLES["Storage Blob Data Contributor"]]
    )
    f.assignments = [dataclasses.replace(a, condition=old) if a in ci else a for a in f.assignments]
    cells = matrix.compute(f)
    assert _allowed(cells, "ci-deploy", "grant-access")


def test_vault_soft_delete_is_always_on(planned) -> None:  # type: ignore[no-untyped-def]
    backup = next(r for r in planned if r.stack == "backup")
    vault = next(r for r in backup.resources if r.type == facts.VAULT)
    sec = vault.inputs["properties"]["securitySettings"]
    assert sec["softDeleteSettings"]["softDeleteState"] == "AlwaysON"


def test_worm_retention_takes_version_deletion_from_ci(planned, region_model) -> None:  # type: ignore[no-untyped-def]
    ups = {r.stack: r.outputs for r in planned if r.stack != "backup"}
    worm = plan.run("backup", root=REPO, upstream=ups, config={"ilag:backupImmutabilityDays": "30"})
    results = [r for r in planned if r.stack != "backup"] + [worm]
    cells = matrix.compute(facts.gather(results, _technicians(region_model)))
    assert not _allowed(cells, "ci-deploy", "delete-backup-version")
    # A Contributor can still delete the unlocked policy first: that gap stays visible.
    why = next(
        c.why
        for c in cells
        if c.identity == "contributor" and c.capability == "delete-backup-version"
    )
    assert "immutabilityPolicies/delete" in why and "unlocked" in why


def test_access_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["access", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and set(rows[0]) == {"identity", "municipality", "capability", "allowed", "why"}
    backup = {r["capability"] for r in rows if not r["capability"].startswith("reach:")}
    assert backup == set(matrix.CAPABILITIES)
    reach_rows = [r for r in rows if r["capability"].startswith("reach:")]
    assert reach_rows and all(r["identity"].count(":") == 2 for r in reach_rows)


def test_a_broken_intended_matrix_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "access.yaml"
    bad.write_text("identities:\n  site: {read-backup: mine}\n", "utf-8")
    with pytest.raises(InputError) as info:
        intended.load(bad)
    assert "identities.site.read-backup" in str(info.value) and "own" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # A misspelt identity would silently intend "none" for the row it meant.
        ("identities:\n  operator: {read-backup: all}\n", "identities.operator"),
        (
            "identities:\n  site: {}\ngaps:\n  - {identity: ci-deploy, capability: delete,"
            " reason: x}\n",
            "gaps[0]",
        ),
        (
            "identities:\n  site: {}\ngaps:\n  - {identity: ci, capability: grant-access,"
            " reason: x}\n",
            "gaps[0]",
        ),
    ],
)
def test_an_unknown_identity_or_gap_is_bad_input(tmp_path: Path, text: str, key: str) -> None:
    bad = tmp_path / "access.yaml"
    bad.write_text(text, "utf-8")
    with pytest.raises(InputError) as info:
        intended.load(bad)
    assert key in str(info.value)


def test_revoking_on_a_lab_without_stored_access_policies_refuses(tmp_path: Path) -> None:
    from ilag_infra.lab import revoke

    out = tmp_path / "outputs.json"
    data = {
        "backup": {
            "blob_endpoint": "http://127.0.0.1:1/devstoreaccount1",
            "container_names": {"bo": "backup-bo"},
            "container_sas_urls": {"bo": "http://127.0.0.1:1/x?sig=old"},
        },
        "lab": {},
    }
    out.write_text(json.dumps(data), "utf-8")
    with pytest.raises(InputError) as info:
        revoke.revoke(out, "bo")
    assert "lab.site_policies.bo" in str(info.value)
    assert json.loads(out.read_text("utf-8")) == data


def test_a_technician_reads_only_the_own_municipalitys_secret(planned, region_model) -> None:  # type: ignore[no-untyped-def]
    f = facts.gather(planned, _technicians(region_model))
    slugs = {m.slug for m in region_model.municipalities}
    assert set(f.secrets) == slugs
    cells = matrix.compute(f)
    for slug in slugs:
        assert _allowed(cells, f"technician:{slug}", "read-secret") == {slug}
    # Each technicians' group holds Key Vault Secrets User on its own secret, not the vault.
    grants = [
        a for a in f.assignments if a.principal.startswith("technician:") and "/secrets/" in a.scope
    ]
    assert {a.principal.split(":")[1] for a in grants} == slugs
    assert all(a.scope in f.secrets[a.principal.split(":")[1]].values() for a in grants)


def test_a_technician_reads_only_the_own_restic_password_escrow(planned, region_model) -> None:  # type: ignore[no-untyped-def]
    f = facts.gather(planned, _technicians(region_model))
    slugs = {m.slug for m in region_model.municipalities}
    for slug in slugs:
        assert set(f.secrets[slug]) == {f"site-sas-{slug}", f"restic-password-{slug}"}
    cells = matrix.compute(f)
    for slug in slugs:
        own = _cell(cells, f"technician:{slug}", slug, "read-secret")
        assert own.allowed and f"reads restic-password-{slug}: Key Vault Secrets User" in own.why
        for other in slugs - {slug}:
            cell = _cell(cells, f"technician:{slug}", other, "read-secret")
            assert not cell.allowed and f"restic-password-{other}" in cell.why
            assert f"restic-password-{other}" not in " ".join(
                c.why for c in cells if c.identity == f"technician:{slug}" and c.allowed
            )
    # The mistake: Andøy's technicians also granted Bø's escrow. The matrix shows it.
    bo_escrow = f.secrets["bo"]["restic-password-bo"]
    mine = next(
        a
        for a in f.assignments
        if a.principal == "technician:andoy" and a.scope.endswith("/secrets/restic-password-andoy")
    )
    f.assignments = [*f.assignments, dataclasses.replace(mine, scope=bo_escrow)]
    leaked = _cell(matrix.compute(f), "technician:andoy", "bo", "read-secret")
    assert leaked.allowed and "reads restic-password-bo" in leaked.why
    diffs, _ = intended.compare(matrix.compute(f), intended.load(REPO / outcome.INTENDED))
    assert ("technician:andoy", "read-secret", "bo") in {
        (d.cell.identity, d.cell.capability, d.cell.municipality) for d in diffs
    }


def test_a_technician_role_on_the_whole_vault_is_caught(planned, region_model) -> None:  # type: ignore[no-untyped-def]
    f = facts.gather(planned, _technicians(region_model))
    # The mistake: Key Vault Secrets User for Bø's technicians on the vault, not the secret.
    f.assignments = [
        dataclasses.replace(a, scope=a.scope.rsplit("/secrets/", 1)[0])
        if a.principal == "technician:bo" and "/secrets/" in a.scope
        else a
        for a in f.assignments
    ]
    diffs, _ = intended.compare(matrix.compute(f), intended.load(REPO / outcome.INTENDED))
    caps = {(d.cell.identity, d.cell.capability, d.cell.municipality) for d in diffs}
    assert ("technician:bo", "read-secret", "andoy") in caps
    msg = next(d.message for d in diffs if d.cell.identity == "technician:bo")
    assert "Key Vault Secrets User" in msg and "andoy's secrets" in msg


def test_the_preview_identity_only_reads_the_platform_resources(planned, region_model) -> None:  # type: ignore[no-untyped-def]
    f = facts.gather(planned, _technicians(region_model))
    mine = [a for a in f.assignments if a.principal == "ci-preview"]
    assert {a.role.name for a in mine} == {"Reader"}
    assert len({a.scope for a in mine}) == 3  # network, identity and backup groups
    assert not any(c.allowed for c in matrix.compute(f) if c.identity == "ci-preview")


NODE_OWN = ("read-backup", "write-backup", "read-secret", "read-records", "write-records")


def _cell(cells: list[matrix.Cell], who: str, slug: str, cap: str) -> matrix.Cell:
    return next(
        c for c in cells if c.identity == who and c.municipality == slug and c.capability == cap
    )


def test_a_node_reaches_only_its_own_backups_and_records(planned, region_model) -> None:  # type: ignore[no-untyped-def]
    out = outcome.evaluate(planned, region_model, REPO)
    assert out.ok, [d.message for d in out.differences]
    slugs = {m.slug for m in region_model.municipalities}
    for slug in slugs:
        who = f"node:{slug}"
        for cap in NODE_OWN:
            assert _allowed(out.cells, who, cap) == {slug}, (who, cap)
        for cap in ("delete-backup-version", "disable-protection", "grant-access"):
            assert not _allowed(out.cells, who, cap), (who, cap)
    own = _cell(out.cells, "node:bo", "bo", "write-records")
    assert "bo's records SAS with racwl" in own.why and matrix.DOC_SAS in own.why
    other = _cell(out.cells, "node:bo", "andoy", "write-records")
    assert not other.allowed and "no role, key or SAS" in other.why
    deleting = _cell(out.cells, "node:bo", "bo", "delete-backup-version")
    assert not deleting.allowed and "no key, SAS, role" in deleting.why
    # A site's backup credential does not reach the records container.
    assert not _allowed(out.cells, "site:bo", "read-records")
    assert not _allowed(out.cells, "site:bo", "write-records")


def test_a_node_row_that_differs_from_the_intent_is_a_difference(
    planned, region_model, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    text = (REPO / outcome.INTENDED).read_text("utf-8")
    mine = "  node: {read-records: own, write-records: own}\n"
    assert mine in text
    # Intend the node to read its records only: the plan says it writes them too.
    changed = tmp_path / "access.yaml"
    changed.write_text(text.replace(mine, "  node: {read-records: own}\n"), "utf-8")
    cells = matrix.compute(facts.gather(planned, _technicians(region_model)))
    diffs, _ = intended.compare(cells, intended.load(changed))
    assert {(d.cell.identity, d.cell.capability) for d in diffs} == {
        (f"node:{m.slug}", "write-records") for m in region_model.municipalities
    }
    msg = next(d.message for d in diffs if d.cell.identity == "node:bo")
    assert "write-records on bo's records is allowed, intended denied" in msg


def test_a_records_capability_in_the_backup_table_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "access.yaml"
    bad.write_text("identities:\n  node: {write-records: own}\n", "utf-8")
    with pytest.raises(InputError) as info:
        intended.load(bad)
    assert "identities.node.write-records" in str(info.value)
    assert "move it under records.node" in str(info.value)
