"""`ilag systems`: each system per municipality judged from fixture run records, the matrix
and the risk register."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.model import region
from ilag_infra.report import records, risk, systems_data
from ilag_infra.report.systems import SystemStatus
from tests.systems_fixtures import CODE_DATE, NOW, repo
from tests.systems_fixtures import records as write_records


@pytest.fixture
def view(tmp_path: Path) -> systems_data.SystemsView:
    region_file = repo(tmp_path)
    recs = records.load(write_records(tmp_path / "runs"), "lab")
    return systems_data.load(tmp_path, region_file, region.load(region_file), recs, [])


def _row(view: systems_data.SystemsView, system: str, slug: str) -> SystemStatus:
    return next(r for r in view.rows if r.system.id == system and r.slug == slug)


def test_backed_up_from_the_newest_records_snapshot_paths(view: systems_data.SystemsView) -> None:
    journal = _row(view, "journal", "bo")
    assert journal.backed_up == "yes"
    assert [p.detail for p in journal.paths] == ["in the newest snapshot"]
    # /home is in util01's backup set, but the newest snapshot left it out (an older one had
    # it): the newest record decides.
    drift = _row(view, "drift", "bo")
    assert drift.backed_up == "no"
    assert drift.paths[0].detail == "not in the newest snapshot"
    # Sortland: fil01 ok (no snapshot paths recorded: its backup set decides), db01 failed.
    sortland = _row(view, "journal", "sortland")
    assert sortland.backed_up == "partly"
    assert [p.backed_up for p in sortland.paths] == [True, False]
    assert _row(view, "drift", "hadsel").backed_up == "n/a"


def test_restore_and_drill_against_the_targets(view: systems_data.SystemsView) -> None:
    journal = _row(view, "journal", "bo")
    assert journal.restore_verified is not None and NOW - journal.restore_verified == (
        NOW - NOW.replace(hour=7)
    )
    assert journal.rto.measured == 1200.0 and journal.rto.target == 4 * 3600 and journal.rto.met
    assert journal.rpo.measured == 7200.0 and journal.rpo.met
    assert journal.drill_time == NOW.replace(hour=9)  # the lab's record, not prod's
    drift = _row(view, "drift", "bo")
    # The restore record names bo-fil01 only: not proof for util01's system.
    assert drift.restore_verified is None
    assert drift.rto.measured == 600.0 and drift.rto.met is False  # target 3 min
    sortland = _row(view, "journal", "sortland")
    assert sortland.rto.measured is None and sortland.rto.met is None
    assert sortland.harmonised is False and journal.harmonised is True


def test_matrix_has_products_and_harmonisation_shares(view: systems_data.SystemsView) -> None:
    m = view.matrix
    assert m.cells[("helse", "bo")] == ["Journal Alfa"]
    assert m.cells[("helse", "sortland")] == ["Journal Beta"]
    assert ("helse", "hadsel") not in m.cells
    assert m.sector_share == {"helse": 0.5, "teknisk": 1.0}
    assert m.region_share == 0.75


def test_risk_register_cites_evidence_with_dates_or_says_none(
    view: systems_data.SystemsView,
) -> None:
    threats = {t.key: t for t in view.risks(_row(view, "journal", "bo"))}
    assert set(threats) == {"site", "ransomware", "link", "person", "vendor"}
    site = threats["site"]
    assert site.consequence == 5  # critical
    backups = site.measures[0]
    assert (
        backups.present and backups.when == NOW.replace(hour=11) and backups.source == "b-bo.json"
    )
    assert site.measures[1].present and "innenfor" in site.measures[1].text
    assert site.residual_consequence == 3  # backed up and the drill met the RTO
    access = threats["person"].measures[0]
    assert access.text.endswith("sertifikatene bo-tech, region-admin")
    assert access.when == CODE_DATE and access.source == "roles/identity/defaults/main.yml"
    worm = threats["ransomware"].measures[1]
    assert not worm.present and "WORM" in worm.text  # the shipped stack has no WORM
    # SaaS: the platform has no evidence at all, and lowers nothing.
    saas = {t.key: t for t in view.risks(_row(view, "drift", "hadsel"))}
    for t in saas.values():
        assert (t.residual_likelihood, t.residual_consequence) == (t.likelihood, t.consequence)
        assert not any(m.present for m in t.measures)
    assert risk.level(25) == "høy" and risk.level(6) == "middels" and risk.level(4) == "lav"


def test_worm_days_from_the_backup_stack_count_as_evidence(tmp_path: Path) -> None:
    region_file = repo(tmp_path)
    stack = tmp_path / "stacks/Pulumi.backup.yaml"
    text = stack.read_text(encoding="utf-8")
    assert "ilag:backupImmutabilityDays: 0" in text
    stack.write_text(
        text.replace("ilag:backupImmutabilityDays: 0", "ilag:backupImmutabilityDays: 30")
    )
    recs = records.load(write_records(tmp_path / "runs"), "lab")
    view = systems_data.load(tmp_path, region_file, region.load(region_file), recs, ["bo"])
    assert {r.slug for r in view.rows} == {"bo"}
    ransomware = next(t for t in view.risks(view.rows[0]) if t.key == "ransomware")
    assert ransomware.measures[1].text.startswith("Uforanderlige kopier (WORM) i 30 dager")


def test_systems_json_and_matrix_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    region_file = repo(tmp_path)
    runs = write_records(tmp_path / "runs")
    base = ["--region", str(region_file), "--runs", str(runs), "--env", "lab"]
    assert main(["systems", "bo", "--json", *base]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["example"] is True
    rows = {(r["system"], r["municipality"]): r for r in data["systems"]}
    assert set(rows) == {("journal", "bo"), ("drift", "bo")}
    journal = rows[("journal", "bo")]
    assert journal["backed_up"] == "yes" and journal["hosts"] == ["bo-fil01"]
    assert journal["rto"] == {"target_seconds": 14400.0, "measured_seconds": 1200.0, "met": True}
    assert journal["last_verified_restore"] == "2026-11-30T07:00:00+00:00"
    assert journal["drill_at"] == "2026-11-30T09:00:00+00:00"
    assert main(["systems", "--matrix", "--json", *base]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert matrix["region_harmonised_share"] == 0.75
    helse = next(s for s in matrix["sectors"] if s["sector"] == "helse")
    assert helse["products"]["sortland"] == ["Journal Beta"] and helse["harmonised_share"] == 0.5
    assert main(["systems", "--matrix", *base]) == 0
    out = capsys.readouterr().out
    assert "Journal Beta" in out and "75%" in out


def test_systems_unknown_municipality_env_or_runs_is_bad_input(tmp_path: Path) -> None:
    region_file = str(repo(tmp_path))
    assert main(["systems", "narvik", "--region", region_file]) == 2
    assert main(["systems", "--env", "labb", "--region", region_file]) == 2
    assert main(["systems", "--runs", str(tmp_path / "none"), "--region", region_file]) == 2


def test_systems_table_marks_a_missed_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = write_records(tmp_path / "runs")
    assert main(["systems", "bo", "--region", str(repo(tmp_path)), "--runs", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "example register" in out and "OVER" in out and "Drift Zeta" in out


def test_region_report_has_the_matrix_and_the_risk_table(
    view: systems_data.SystemsView, tmp_path: Path
) -> None:
    from ilag_infra.report import page

    loaded = region.load(tmp_path / "region.yaml")
    html = page.render(page.build(loaded, view.records, None, None, "nb", now=NOW, systems=view))
    matrix = html[html.index('id="harmonisation-table"') : html.index('id="risk-table"')]
    assert "<td>Journal Beta</td>" in matrix and "50 %" in matrix and "75 %" in matrix
    risks = html[html.index('id="risk-table"') : html.index('id="sources"')]
    assert "Løsepengevirus" in risks and "Driftskontroll" in risks
    assert risks.count('<tr><th scope="row">') == len(view.rows)
    assert "eksempel" in html
    without = page.render(page.build(loaded, view.records, None, None, "nb", now=NOW))
    assert 'id="harmonisation-table"' not in without


def test_the_backup_record_carries_the_snapshots_paths_to_the_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's status (last_snapshot_paths) → `ilag backup status`'s record
    (snapshot_paths) → the register's verdict, without a hand-made record."""
    from datetime import UTC, datetime, timedelta

    from ilag_infra.onsite import backup
    from ilag_infra.onsite.hostlist import SshHost

    region_file = repo(tmp_path)
    runs = tmp_path / "runs"
    monkeypatch.setenv("ILAG_RUNS_DIR", str(runs))
    fact = {
        "state": "ok",
        "last_success": datetime.now(UTC).isoformat(),
        "last_snapshot_id": "4f1c2a9e",
    }
    day = timedelta(hours=26)
    statuses = [
        backup.interpret(
            SshHost("bo-fil01", "bo", "10.67.10.10", 22, "root", None),
            {**fact, "last_snapshot_paths": ["/etc", "/srv"]},
            day,
        ),
        backup.interpret(
            SshHost("bo-util01", "bo", "10.67.10.20", 22, "root", None),
            {**fact, "last_snapshot_paths": ["/etc"]},
            day,
        ),
    ]
    assert statuses[0].snapshot_paths == ["/etc", "/srv"]
    backup.write_records(tmp_path, "lab", "status", statuses, day)
    recs = records.load(runs, "lab")
    view = systems_data.load(tmp_path, region_file, region.load(region_file), recs, ["bo"])
    assert _row(view, "journal", "bo").backed_up == "yes"
    drift = _row(view, "drift", "bo")
    assert drift.backed_up == "no" and drift.paths[0].detail == "not in the newest snapshot"


def test_systems_without_a_register_is_bad_input_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    region_file = repo(tmp_path)
    (tmp_path / "systems.yaml").unlink()
    assert main(["systems", "--region", str(region_file)]) == 2
    err = capsys.readouterr().err
    assert "systems.yaml" in err and "file not found" in err
