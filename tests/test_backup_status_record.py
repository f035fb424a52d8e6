"""`ilag backup status` leaves one run record per municipality, and the region report reads it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ilag_infra.onsite import backup
from ilag_infra.onsite.hostlist import SshHost
from ilag_infra.report import health, records

REPO = Path(__file__).resolve().parents[1]
DAY = timedelta(hours=26)


def _host(name: str, slug: str) -> SshHost:
    return SshHost(name, slug, "10.250.5.11", 22, "root", None)


def _fact(age_hours: float, state: str = "ok") -> dict[str, object]:
    when = datetime.now(UTC) - timedelta(hours=age_hours)
    return {"state": state, "last_success": when.isoformat(), "last_snapshot_id": "4f1c2a9e"}


def test_report_reads_the_status_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path))
    statuses = [
        backup.interpret(_host("andoy-fil01", "andoy"), _fact(1), DAY),
        backup.interpret(_host("andoy-util01", "andoy"), _fact(30), DAY),
        backup.interpret(_host("bo-fil01", "bo"), _fact(2), DAY),
        backup.interpret(_host("bo-util01", "bo"), _fact(0.1, state="failed"), DAY),
        backup.interpret(_host("hadsel-fil01", "hadsel"), _fact(3), DAY),
    ]
    statuses[3].error = "Fatal: unable to open repo at azure:x:/?sv=2022&sig=abcdefSECRET"
    written = backup.write_records(REPO, "lab", "status", statuses, DAY)
    assert len(written) == 3 and all(p.parent == tmp_path for p in written)
    assert not any("abcdefSECRET" in p.read_text() for p in written)

    recs = records.load(tmp_path)
    now = datetime.now(UTC)
    andoy = health.backups(recs, "andoy", now, DAY)
    assert andoy.record is not None and andoy.record.environment == "lab"
    assert [(h.name, h.state, h.detail) for h in andoy.hosts] == [
        ("andoy-fil01", health.OK, "fresh"),
        ("andoy-util01", health.BAD, "stale"),
    ]
    assert andoy.state == health.BAD
    bo = health.backups(recs, "bo", now, DAY)
    assert [(h.name, h.detail) for h in bo.hosts] == [
        ("bo-fil01", "fresh"),
        ("bo-util01", "failed"),
    ]
    hadsel = health.backups(recs, "hadsel", now, DAY)
    assert hadsel.state == health.OK and [h.name for h in hadsel.hosts] == ["hadsel-fil01"]
    assert health.backups(recs, "sortland", now, DAY).state == health.MISSING
    data = json.loads(written[0].read_text())
    assert data["kind"] == "backup" and data["action"] == "status" and data["checked_at"]
