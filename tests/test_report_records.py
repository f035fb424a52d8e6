"""Which records answer which question: full converges only, one environment, restore tests
from the restore-test playbook too, backup freshness judged at report time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ilag_infra.report import health, records
from tests.test_report_data import NOW, REPO, apply_record, envelope

DAY = timedelta(hours=26)


def _write(runs: Path, recs: dict[str, dict[str, Any]]) -> records.Records:
    runs.mkdir(parents=True, exist_ok=True)
    for name, data in recs.items():
        (runs / name).write_text(json.dumps(data), encoding="utf-8")
    return records.load(runs, "lab")


def test_only_a_full_site_run_counts_as_converged(tmp_path: Path) -> None:
    failed = {"bo-util01": {"failed": 1}}
    clean = {"bo-util01": {}}
    recs = _write(
        tmp_path,
        {
            "full.json": apply_record("bo", failed, NOW - timedelta(hours=5)),
            # Each newer, each clean, none a converge of the whole municipality.
            "check.json": apply_record("bo", clean, NOW - timedelta(hours=4), check=True),
            "tags.json": apply_record("bo", clean, NOW - timedelta(hours=3), tags="backup"),
            "limit.json": apply_record("bo", clean, NOW - timedelta(hours=2), limit="bo-util01"),
            "other.json": apply_record(
                "bo", clean, NOW - timedelta(hours=1), playbook="/srv/ilag/playbooks/baseline.yml"
            ),
        },
    )
    section = health.converge(recs, "bo", NOW)
    assert section.state == health.BAD and section.record is not None
    assert section.record.path.name == "full.json"
    # An absolute playbook path (as ilag apply writes it) is still site.yml.
    recs = _write(
        tmp_path / "abs",
        {"a.json": apply_record("bo", clean, NOW, playbook=str(REPO / "playbooks" / "site.yml"))},
    )
    assert health.converge(recs, "bo", NOW).state == health.OK


def test_a_lab_record_never_stands_in_for_production(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _write(
        runs,
        {
            "lab.json": apply_record("hadsel", {"hadsel-app01": {}}, NOW),
            "prod.json": apply_record(
                "hadsel",
                {"hadsel-app01": {"failed": 1}},
                NOW - timedelta(days=1),
                environment="prod",
            ),
            "lab-only.json": apply_record("andoy", {"andoy-app01": {}}, NOW),
            "no-env.json": apply_record("oksnes", {"oksnes-app01": {}}, NOW, environment=""),
        },
    )
    prod = records.load(runs, "prod")
    assert health.converge(prod, "hadsel", NOW).state == health.BAD  # the older prod run, not lab's
    assert health.converge(prod, "andoy", NOW).state == health.MISSING
    assert health.converge(prod, "oksnes", NOW).state == health.MISSING
    assert prod.other_environments == 3 and prod.environment == "prod"
    lab = records.load(runs, "lab")
    assert health.converge(lab, "hadsel", NOW).state == health.OK


def test_the_restore_test_playbook_is_a_restore_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ilag apply --playbook restore-test writes an apply record, one per municipality."""
    from ilag_infra.onsite import runrecord
    from ilag_infra.onsite.runner import ApplyRequest, HostResult, MunicipalityResult

    runs = tmp_path / "runs"
    monkeypatch.setenv("ILAG_RUNS_DIR", str(runs))
    for slug, failed in (("andoy", 0), ("sortland", 1)):
        host = f"{slug}-fil01"
        result = MunicipalityResult(
            slug,
            "failed" if failed else "successful",
            2 if failed else 0,
            {host: HostResult(host, ok=5, failed=failed)},
            finished="2026-11-30T11:00:00+00:00",
        )
        req = ApplyRequest(slug, REPO / "playbooks" / "restore-test.yml")
        runrecord.write(REPO, "20261130T110000Z-1", "lab", req, result)
    recs = records.load(runs, "lab")
    andoy = health.restore(recs, "andoy", NOW)
    assert andoy.state == health.OK
    assert [(h.name, h.state, h.detail) for h in andoy.hosts] == [
        ("andoy-fil01", health.OK, "verified")
    ]
    assert health.restore(recs, "sortland", NOW).state == health.BAD
    # A restore-test run is not a converge.
    assert health.converge(recs, "andoy", NOW).state == health.MISSING
    # The newer of a restore record and a restore-test run answers.
    newer = {**envelope("restore", "andoy", NOW, False), "host": "andoy-fil01"}
    (runs / "r.json").write_text(json.dumps(newer), encoding="utf-8")
    assert health.restore(records.load(runs, "lab"), "andoy", NOW).state == health.BAD


def test_backup_freshness_is_judged_at_report_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backup-status record as `ilag backup status` writes it, read three days later."""
    from datetime import UTC, datetime

    from ilag_infra.onsite import backup
    from ilag_infra.onsite.hostlist import SshHost

    def host(name: str) -> SshHost:
        return SshHost(name, "bo", "10.250.5.11", 22, "root", None)

    now = datetime.now(UTC)
    fact = {"state": "ok", "last_success": (now - timedelta(hours=1)).isoformat(),
            "last_snapshot_id": "4f1c2a9e"}  # fmt: skip
    partial = {**fact, "state": "partial"}
    statuses = [
        backup.interpret(host("bo-fil01"), fact, DAY),
        backup.interpret(host("bo-util01"), partial, DAY),
        backup.BackupStatus(host("bo-app01"), "unreachable", error="timed out"),
    ]
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path))
    backup.write_records(REPO, "lab", "run", statuses, DAY)
    recs = records.load(tmp_path, "lab")
    today = health.backups(recs, "bo", now, DAY)
    assert [(h.name, h.state, h.detail) for h in today.hosts] == [
        ("bo-fil01", health.OK, "fresh"),
        ("bo-util01", health.BAD, "failed"),
        ("bo-app01", health.BAD, "unreachable"),
    ]
    later = health.backups(recs, "bo", now + timedelta(days=3), DAY)
    assert (later.hosts[0].name, later.hosts[0].detail) == ("bo-fil01", "stale")
    assert later.state == health.BAD
