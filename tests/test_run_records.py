"""Run records: one JSON file per municipality and run, saying who, when, which commit, what happened."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ilag_infra.model.region import load
from ilag_infra.onsite import runrecord
from ilag_infra.onsite.runner import ApplyRequest, HostResult, MunicipalityResult

REPO = Path(__file__).resolve().parent.parent
SLUGS = list(load(REPO / "region.yaml").model.slugs)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "site.yml").write_text("- hosts: all\n")
    git(root, "add", "site.yml")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "one")
    monkeypatch.delenv("ILAG_RUNS_DIR", raising=False)
    return root


def result(slug: str, failed: bool = False) -> MunicipalityResult:
    hosts = {
        f"{slug}-fil01": HostResult(f"{slug}-fil01", ok=5, changed=1),
        f"{slug}-ctl01": HostResult(f"{slug}-ctl01", ok=4, failed=1 if failed else 0),
    }
    messages = {f"{slug}-ctl01": "apt failed"} if failed else {}
    return MunicipalityResult(
        slug,
        "failed" if failed else "ok",
        2 if failed else 0,
        hosts,
        "2026-11-30T10:00:00+00:00",
        "2026-11-30T10:03:00+00:00",
        "",
        messages,
    )


def test_git_commit_is_head_and_says_dirty_only_for_tracked_changes(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert runrecord.git_commit(repo) == head
    (repo / "notes.txt").write_text("untracked files do not change what ran\n")
    assert runrecord.git_commit(repo) == head
    (repo / "site.yml").write_text("- hosts: andoy\n")
    assert runrecord.git_commit(repo) == head + "+dirty"


def test_git_commit_outside_a_repository_is_unknown(tmp_path: Path) -> None:
    assert runrecord.git_commit(tmp_path) == "unknown"


def test_one_record_per_municipality_with_every_field(repo: Path) -> None:
    run_id = runrecord.new_run_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-\d+", run_id)
    written = [
        runrecord.write(
            repo,
            run_id,
            "prod",
            ApplyRequest(slug, repo / "site.yml", check=True, tags="ntp"),
            result(slug, failed=slug == "bo"),
        )
        for slug in SLUGS
    ]
    assert len(SLUGS) == 5
    assert sorted(p.name for p in (repo / "runs").iterdir()) == sorted(
        f"{run_id}-{slug}.json" for slug in SLUGS
    )
    records = {
        json.loads(p.read_text())["municipality"]: json.loads(p.read_text()) for p in written
    }
    assert set(records) == set(SLUGS)
    for slug, rec in records.items():
        assert rec["run_id"] == run_id and rec["environment"] == "prod"
        assert rec["git_commit"] == git(repo, "rev-parse", "HEAD")
        assert re.fullmatch(r".+@.+", rec["who"])
        assert rec["playbook"] == str(repo / "site.yml")
        # A --check run is its own kind: it never stands in for a converge.
        assert rec["kind"] == "check" and rec["schema_version"] == 1
        assert rec["tags"] == "ntp" and rec["limit"] is None
        assert rec["hosts"][f"{slug}-fil01"]["changed"] == 1
        assert rec["started"] == "2026-11-30T10:00:00+00:00"
    assert records["bo"]["status"] == "failed" and records["bo"]["rc"] == 2
    assert records["bo"]["failed_hosts"] == ["bo-ctl01"]
    assert records["bo"]["messages"] == {"bo-ctl01": "apt failed"}
    assert all(records[s]["failed_hosts"] == [] for s in SLUGS if s != "bo")


def test_runs_dir_follows_the_environment(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runrecord.runs_dir(repo) == repo / "runs"
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "elsewhere"))
    out = runrecord.write(
        repo, "r1", "lab", ApplyRequest("andoy", repo / "site.yml"), result("andoy")
    )
    assert out == tmp_path / "elsewhere" / "r1-andoy.json"
    assert not (repo / "runs").exists()


def test_a_secret_quoted_in_a_failure_reason_is_redacted(repo: Path) -> None:
    sas = "https://stilag.blob.core.windows.net/backup-bo?sv=2026-10-06&sr=c&sig=S3CR3Tsig%3D"
    failed = result("bo", failed=True)
    failed.messages["bo-ctl01"] = f"restic init failed for {sas}"
    out = runrecord.write(repo, "r2", "prod", ApplyRequest("bo", repo / "site.yml"), failed)
    text = out.read_text()
    assert "S3CR3Tsig" not in text
    assert json.loads(text)["messages"]["bo-ctl01"].startswith("restic init failed for https://")
