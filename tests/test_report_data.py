"""Run records of every kind, as the commands write them, for the report tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def envelope(
    kind: str, slug: str, when: datetime, ok: bool, environment: str = "lab"
) -> dict[str, Any]:
    """The fields every record carries (onsite/recordschema, schema_version 1)."""
    return {
        "schema_version": 1,
        "kind": kind,
        "run_id": when.strftime("%Y%m%dT%H%M%SZ") + "-1",
        "time": _iso(when),
        "who": "tech@ops",
        "git_commit": "0123456789abcdef",
        "environment": environment,
        "municipality": slug,
        "ok": ok,
    }


def apply_record(
    slug: str, hosts: dict[str, dict[str, int]], when: datetime, **kw: Any
) -> dict[str, Any]:
    """The shape onsite/runrecord.write gives an apply run (kind check with check=True)."""
    full = {
        name: {"name": name, "ok": 40, "changed": 0, "failed": 0, "unreachable": 0,
               "skipped": 3, "rescued": 0, "ignored": 0, **h}
        for name, h in hosts.items()
    }  # fmt: skip
    failed = sorted(n for n, h in full.items() if h["failed"])
    check = kw.pop("check", False)
    environment = kw.pop("environment", "lab")
    return {
        **envelope("check" if check else "apply", slug, when, not failed, environment),
        "playbook": "playbooks/site.yml",
        "tags": None,
        "limit": None,
        "status": "failed" if failed else "successful",
        "rc": 2 if failed else 0,
        "hosts": full,
        "started": _iso(when - timedelta(seconds=15)),
        "finished": _iso(when),
        "failed_hosts": failed,
        "unreachable_hosts": [],
        **kw,
    }


def write_records(runs: Path, now: datetime = NOW) -> Path:
    """A region in mixed health: what each municipality's page card should say is in the tests.

    Every time is relative to `now`. A test that lets the code read the clock itself (the
    `ilag report` command) passes the real time, so the backups written as fresh stay fresh."""
    runs.mkdir(parents=True, exist_ok=True)
    recs: dict[str, dict[str, Any]] = {
        # Hadsel: an old failed run, then a clean one: the newest counts.
        "a-hadsel-old.json": apply_record(
            "hadsel", {"hadsel-app01": {"failed": 1}}, now - timedelta(days=2)
        ),
        "a-hadsel.json": apply_record(
            "hadsel", {"hadsel-app01": {}, "hadsel-fil01": {"changed": 2}}, now - timedelta(hours=3)
        ),
        # Bø: the last run failed on one host.
        "a-bo.json": apply_record(
            "bo", {"bo-util01": {"failed": 1}, "bo-fil01": {}}, now - timedelta(hours=1)
        ),
        # Sortland converged; Øksnes and Andøy have no apply record at all.
        "a-sortland.json": apply_record(
            "sortland", {"sortland-app01": {}, "sortland-fil01": {}}, now - timedelta(hours=5)
        ),
        "b-hadsel.json": {
            **envelope("backup", "hadsel", now - timedelta(minutes=30), False),
            "action": "status",
            "max_age_hours": 26,
            "hosts": [
                {
                    "host": "hadsel-app01",
                    "state": "ok",
                    "last_success": _iso(now - timedelta(days=3)),
                    "fresh": False,
                },
                {
                    "host": "hadsel-fil01",
                    "state": "ok",
                    "last_success": _iso(now - timedelta(hours=2)),
                    "fresh": True,
                },
            ],
        },
        "b-sortland.json": {
            **envelope("backup", "sortland", now - timedelta(minutes=20), True),
            "action": "run",
            "max_age_hours": 26,
            "hosts": [
                {
                    "host": "sortland-fil01",
                    "state": "ok",
                    "fresh": True,
                    "last_success": _iso(now - timedelta(hours=1)),
                },
            ],
        },
        "r-sortland.json": {
            **envelope("restore", "sortland", now - timedelta(hours=6), True),
            "host": "sortland-fil01",
        },
        "d-bo.json": {
            **envelope("drill", "bo", now - timedelta(days=1), True),
            "rto_seconds": 412.4,
            "rpo_seconds": 3725,
            "hosts": [],
        },
    }
    for name, data in recs.items():
        (runs / name).write_text(json.dumps(data, indent=2), encoding="utf-8")
    # What else lives in runs/: artifacts and locks, never read as records.
    (runs / "20261130T100000Z-1" / "hadsel" / "artifacts").mkdir(parents=True)
    (runs / "20261130T100000Z-1" / "hadsel" / "artifacts" / "status.json").write_text("{}")
    (runs / "broken.json").write_text("{not json", encoding="utf-8")
    return runs


# --- how the records are read -----------------------------------------------------------------


def test_records_are_read_by_kind_and_the_newest_wins(tmp_path: Path) -> None:
    from ilag_infra.report import health, records

    recs = records.load(write_records(tmp_path / "runs"))
    assert sorted({r.kind for r in recs.records}) == ["apply", "backup", "drill", "restore"]
    assert [p.name for p in recs.unreadable] == ["broken.json"]
    hadsel = health.converge(recs, "hadsel", NOW)
    assert hadsel.state == health.OK  # the newer clean run, not the older failure
    assert [(h.name, h.detail) for h in hadsel.hosts] == [
        ("hadsel-app01", "ok"),
        ("hadsel-fil01", "changed"),
    ]
    bo = health.converge(recs, "bo", NOW)
    assert bo.state == health.BAD
    assert health.converge(recs, "oksnes", NOW).state == health.MISSING


def test_backups_fresh_or_stale_per_host(tmp_path: Path) -> None:
    from ilag_infra.report import health, records

    recs = records.load(write_records(tmp_path / "runs"))
    section = health.backups(recs, "hadsel", NOW, timedelta(hours=26))
    assert section.state == health.BAD
    assert [(h.name, h.detail) for h in section.hosts] == [
        ("hadsel-app01", "stale"),  # three days old
        ("hadsel-fil01", "fresh"),
    ]
    assert health.backups(recs, "sortland", NOW, timedelta(hours=26)).state == health.OK
    assert health.backups(recs, "bo", NOW, timedelta(hours=26)).state == health.MISSING


def test_drill_rto_rpo_and_restore(tmp_path: Path) -> None:
    from ilag_infra.report import health, records

    recs = records.load(write_records(tmp_path / "runs"))
    drill = health.drill(recs, "bo", NOW)
    assert drill.state == health.OK
    assert drill.facts == {"rto": "6 min 52 s", "rpo": "1 h 2 min"}
    assert health.drill(recs, "hadsel", NOW).state == health.MISSING
    restore = health.restore(recs, "sortland", NOW)
    assert restore.state == health.OK and [h.name for h in restore.hosts] == ["sortland-fil01"]
    assert health.restore(recs, "andoy", NOW).record is None


def test_no_runs_directory_means_nothing_known(tmp_path: Path) -> None:
    from ilag_infra.report import health, records

    recs = records.load(tmp_path / "nowhere")
    assert recs.records == [] and recs.newest is None
    assert health.converge(recs, "bo", NOW).state == health.MISSING


def test_records_as_the_commands_write_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real writers: an apply record (runrecord) and a restore record (jobrecord)."""
    from ilag_infra.onsite import jobrecord, runrecord
    from ilag_infra.onsite.runner import ApplyRequest, HostResult, MunicipalityResult
    from ilag_infra.report import health, records

    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    result = MunicipalityResult(
        "oksnes",
        "successful",
        0,
        {"oksnes-fil01": HostResult("oksnes-fil01", ok=50, changed=1)},
        started="2026-11-30T10:00:00+00:00",
        finished="2026-11-30T10:00:20+00:00",
    )
    req = ApplyRequest("oksnes", REPO / "playbooks" / "site.yml")
    runrecord.write(REPO, "20261130T100000Z-1", "lab", req, result)
    jobrecord.write(
        REPO,
        "restore",
        "oksnes-fil01",
        {"environment": "lab", "host": "oksnes-fil01", "municipality": "oksnes", "ok": False},
    )
    recs = records.load(tmp_path / "runs")
    converge = health.converge(recs, "oksnes", NOW)
    assert converge.state == health.OK
    assert converge.when == datetime(2026, 11, 30, 10, 0, 20, tzinfo=UTC)
    restore = health.restore(recs, "oksnes", NOW)
    assert restore.state == health.BAD  # the restore's own verdict, not a default
    assert restore.when is not None and restore.when.year >= 2026
    assert [h.name for h in restore.hosts] == ["oksnes-fil01"]


def test_a_drill_record_as_ilag_drill_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ilag_infra.lab.drill import DrillResult, HostDrill
    from ilag_infra.lab.drill_report import write_reports
    from ilag_infra.report import health, records

    monkeypatch.setenv("ILAG_RUNS_DIR", str(tmp_path / "runs"))
    hosts = [
        HostDrill("bo-fil01", files=12, rpo_seconds=540.0, rto_seconds=301.0),
        HostDrill("bo-util01", files=3, rpo_seconds=600.0, rto_seconds=355.5),
    ]
    write_reports(REPO, DrillResult("bo", NOW, hosts), "lab")
    drill = health.drill(records.load(tmp_path / "runs"), "bo", NOW)
    assert drill.state == health.OK
    assert drill.facts == {"rto": "5 min 56 s", "rpo": "10 min 0 s"}
    assert [(h.name, h.detail) for h in drill.hosts] == [
        ("bo-fil01", "RTO 5 min 1 s, RPO 9 min 0 s"),
        ("bo-util01", "RTO 5 min 56 s, RPO 10 min 0 s"),
    ]
