"""The council's page carries the access matrix's verdict: differences as mandatory
findings, declared gaps as advisory ones, one line per identity and capability."""

from __future__ import annotations

import shutil
from pathlib import Path

from ilag_infra.model import region
from ilag_infra.report import findings

REPO = Path(__file__).resolve().parents[1]


def test_the_shipped_plan_has_no_access_finding() -> None:
    """The second copy closes the delete-backup-version gaps: nothing is left to declare."""
    found = [f for f in findings.from_plan(region.load(REPO / "region.yaml"), REPO)]
    assert [f for f in found if f.policy.startswith("access")] == []


def test_without_the_second_copy_the_page_names_who_can_destroy_versions(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(
        REPO, root, ignore=shutil.ignore_patterns(".venv", "node_modules", ".git", "runs", "build")
    )
    stack = root / "stacks" / "Pulumi.backup.yaml"
    text = stack.read_text("utf-8").replace("ilag:backupCopyDays: 30", "ilag:backupCopyDays: 0")
    assert text != stack.read_text("utf-8")
    stack.write_text(text, "utf-8")
    found = findings.from_plan(region.load(root / "region.yaml"), root)
    wrong = {f.resource: f for f in found if f.policy == "access-matrix"}
    assert {"ci-deploy", "contributor"} <= set(wrong)
    assert all(f.enforcement == "mandatory" for f in wrong.values())
    assert "delete-backup-version" in wrong["ci-deploy"].message


def test_a_difference_from_the_intended_matrix_is_a_mandatory_finding(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(
        REPO, root, ignore=shutil.ignore_patterns(".venv", "node_modules", ".git", "runs", "build")
    )
    intended = root / "policy" / "access.yaml"
    # Declare that operators may not read the backups: the plan says they can.
    text = intended.read_text("utf-8").replace(
        "operators: {read-backup: all, write-backup: all, read-secret: all}",
        "operators: {write-backup: all, read-secret: all}",
    )
    assert text != intended.read_text("utf-8")
    intended.write_text(text, "utf-8")
    found = findings.from_plan(region.load(root / "region.yaml"), root)
    wrong = [f for f in found if f.policy == "access-matrix"]
    assert wrong and all(f.enforcement == "mandatory" and f.resource == "operators" for f in wrong)
    assert "read-backup" in wrong[0].message
