"""The council's page carries the access matrix's verdict: differences as mandatory
findings, declared gaps as advisory ones, one line per identity and capability."""

from __future__ import annotations

import shutil
from pathlib import Path

from ilag_infra.model import region
from ilag_infra.report import findings

REPO = Path(__file__).resolve().parents[1]


def test_the_shipped_plan_shows_its_declared_gaps_as_advisory() -> None:
    found = [f for f in findings.from_plan(region.load(REPO / "region.yaml"), REPO)]
    access = [f for f in found if f.policy.startswith("access")]
    assert {(f.policy, f.resource, f.enforcement) for f in access} == {
        ("access-gap", "ci-deploy", "advisory"),
        ("access-gap", "contributor", "advisory"),
    }
    ci = next(f for f in access if f.resource == "ci-deploy")
    assert "delete-backup-version on andoy, bo, hadsel, oksnes, sortland" in ci.message


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
