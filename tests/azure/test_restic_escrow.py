"""The backup stack escrows each municipality's restic password in Key Vault, readable by that
municipality's technicians only, from the secret config map ilag:resticPasswords."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ilag_infra.azure import plan, roles
from ilag_infra.model.errors import EXIT_BAD_INPUT, InputError
from ilag_infra.model.region import load
from ilag_infra.model.secrets import MASK
from tests.azure.conftest import of_type

REPO = Path(__file__).resolve().parents[2]
REGION = load(REPO / "region.yaml").model
SECURE = "{secure: v1:QUJDREVGR0hJSktMTU5PUFFSU1RVVldY}"


def test_each_municipality_has_its_escrow_secret_and_only_its_group_reads_it(
    plans: dict[str, plan.PlanResult],
) -> None:
    backup = plans["backup"]
    escrows = {
        str(r.inputs["secretName"]): r
        for r in of_type(backup, ":Secret")
        if str(r.inputs["secretName"]).startswith("restic-password-")
    }
    assert set(escrows) == {f"restic-password-{m.slug}" for m in REGION.municipalities}
    for m in REGION.municipalities:
        secret = escrows[f"restic-password-{m.slug}"]
        assert secret.inputs["tags"]["municipality"] == m.slug
        # The value is a secret in the plan: never shown, never a plain stack output.
        assert secret.inputs["properties"]["value"] == MASK
        assert "ilag:backup:ResticEscrow" in str(secret.parent)
    user = roles.BUILTIN_ROLES["Key Vault Secrets User"]
    grants = [
        a
        for a in of_type(backup, ":RoleAssignment")
        if str(a.inputs["scope"]).split("/secrets/")[-1].startswith("restic-password-")
    ]
    assert len(grants) == len(REGION.municipalities)
    for m in REGION.municipalities:
        [mine] = [a for a in grants if a.inputs["scope"].endswith(f"/restic-password-{m.slug}")]
        assert mine.inputs["principalId"] == m.technician_group_object_id
        assert mine.inputs["principalType"] == "Group"
        assert mine.inputs["roleDefinitionId"].endswith(user)
    assert not any("restic" in name.lower() for name in backup.outputs)


def _root(tmp_path: Path, entries: dict[str, str]) -> Path:
    for name in ("Pulumi.yaml", "region.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / "stacks").mkdir()
    text = (REPO / "stacks" / "Pulumi.backup.yaml").read_text(encoding="utf-8")
    lines = ["  ilag:resticPasswords:", *(f"    {s}: {v}" for s, v in entries.items())]
    (tmp_path / "stacks" / "Pulumi.backup.yaml").write_text(
        text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    return tmp_path


def _problems(root: Path, plans: dict[str, plan.PlanResult]) -> list[str]:
    upstream = {s: plans[s].outputs for s in ("network", "identity")}
    with pytest.raises(InputError) as caught:
        plan.run("backup", root=root, upstream=upstream)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    return [str(p) for p in caught.value.problems]


def test_a_municipality_without_its_password_is_refused_with_the_fix(
    tmp_path: Path, plans: dict[str, plan.PlanResult]
) -> None:
    entries = {m.slug: SECURE for m in REGION.municipalities if m.slug != "bo"}
    [problem] = _problems(_root(tmp_path, entries), plans)
    assert "ilag:resticPasswords.bo" in problem and "no restic password for bo" in problem
    assert "inventories/bo/group_vars/bo/vault.yml" in problem
    assert "pulumi config set --secret --path 'ilag:resticPasswords.bo' -s backup" in problem


def test_a_plain_text_password_is_refused(
    tmp_path: Path, plans: dict[str, plan.PlanResult]
) -> None:
    entries = {m.slug: SECURE for m in REGION.municipalities}
    entries["andoy"] = "not-encrypted"
    [problem] = _problems(_root(tmp_path, entries), plans)
    assert "ilag:resticPasswords.andoy" in problem and "plain text" in problem
    assert "not-encrypted" not in problem


def test_all_passwords_encrypted_plans(tmp_path: Path, plans: dict[str, plan.PlanResult]) -> None:
    entries = {m.slug: SECURE for m in REGION.municipalities}
    upstream = {s: plans[s].outputs for s in ("network", "identity")}
    result = plan.run("backup", root=_root(tmp_path, entries), upstream=upstream)
    names = {r.inputs.get("secretName") for r in of_type(result, ":Secret")}
    assert {f"restic-password-{m.slug}" for m in REGION.municipalities} <= names
