"""Run records are read by their schema, and every result ages by its kind's window."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ilag_infra.cli.app import main
from ilag_infra.onsite import recordschema
from ilag_infra.report import health, records
from tests.test_report_data import NOW, apply_record, envelope

RESTORE_WINDOW = recordschema.FRESHNESS["restore"]


def _write(runs: Path, recs: dict[str, dict[str, Any]]) -> Path:
    runs.mkdir(parents=True, exist_ok=True)
    for name, data in recs.items():
        (runs / name).write_text(json.dumps(data), encoding="utf-8")
    return runs


def _restore(slug: str, when: datetime, ok: bool = True) -> dict[str, Any]:
    return {**envelope("restore", slug, when, ok), "host": f"{slug}-fil01"}


def _restore_badge(html: str, slug: str) -> str:
    card = html[html.index(f'id="m-{slug}"') :]
    card = card[: card.index("</section>")]
    restore = card[card.index("gjenopprettingstest</h3>") :]
    found = re.search(r'<span class="badge (\w+)">([^<]+)</span>', restore)
    assert found, restore[:300]
    return found.group(2)


def test_a_restore_test_two_windows_old_is_feil_on_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    runs = _write(
        tmp_path / "runs",
        {
            "fresh.json": _restore("bo", now - timedelta(days=1)),
            "aging.json": _restore("hadsel", now - RESTORE_WINDOW - timedelta(days=1)),
            "old.json": _restore("sortland", now - 2 * RESTORE_WINDOW - timedelta(hours=1)),
        },
    )
    out = tmp_path / "site"
    code = main(["report", "--out", str(out), "--runs", str(runs), "--no-plan"])
    assert code == 0, capsys.readouterr().err
    html = (out / "index.html").read_text(encoding="utf-8")
    assert _restore_badge(html, "bo") == "OK"
    assert _restore_badge(html, "hadsel") == "Obs"
    assert _restore_badge(html, "sortland") == "Feil"
    assert _restore_badge(html, "andoy") == "Mangler"  # none at all: never OK


def test_every_kind_ages_by_its_one_window() -> None:
    for kind, window in recordschema.FRESHNESS.items():
        assert recordschema.age_state(kind, NOW - window, NOW) == recordschema.FRESH
        aging = NOW - window - timedelta(seconds=1)
        assert recordschema.age_state(kind, aging, NOW) == recordschema.AGING
        expired = NOW - 2 * window - timedelta(seconds=1)
        assert recordschema.age_state(kind, expired, NOW) == recordschema.EXPIRED
        assert recordschema.age_state(kind, None, NOW) == recordschema.MISSING


def test_an_old_converge_and_drill_age_too(tmp_path: Path) -> None:
    old = NOW - 2 * recordschema.FRESHNESS["apply"] - timedelta(hours=1)
    recs = records.load(
        _write(
            tmp_path,
            {
                "a.json": apply_record("bo", {"bo-fil01": {}}, old),
                "d.json": {
                    **envelope("drill", "bo", NOW - timedelta(days=400), True),
                    "rto_seconds": 60,
                    "hosts": [],
                },
            },
        )
    )
    converge = health.converge(recs, "bo", NOW)
    assert converge.state == health.BAD and converge.age == recordschema.EXPIRED
    assert health.drill(recs, "bo", NOW).state == health.WARN


def test_the_writers_verdict_decides_not_a_missing_rc(tmp_path: Path) -> None:
    """A run whose hosts look clean but which the writer judged failed is failed."""
    failed = {**apply_record("bo", {"bo-fil01": {}}, NOW), "ok": False, "rc": 4}
    recs = records.load(_write(tmp_path, {"a.json": failed}))
    assert health.converge(recs, "bo", NOW).state == health.BAD


def test_a_record_from_before_the_schema_is_named_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pre_schema = apply_record("bo", {"bo-fil01": {}}, datetime.now(UTC))
    del pre_schema["schema_version"]
    unknown = {**envelope("backup", "hadsel", datetime.now(UTC), True), "kind": "backup-status"}
    newer = {**envelope("restore", "andoy", datetime.now(UTC), True), "schema_version": 2}
    runs = _write(
        tmp_path / "runs", {"old.json": pre_schema, "odd.json": unknown, "new.json": newer}
    )
    recs = records.load(runs)
    assert recs.records == []
    assert len(recs.rejected) == 3
    out = tmp_path / "site"
    code = main(["report", "--out", str(out), "--runs", str(runs), "--no-plan"])
    text = capsys.readouterr().out
    assert code == 0
    assert "old.json: written before run records had a schema (no schema_version)" in text
    assert "odd.json: unknown kind 'backup-status'" in text
    assert "new.json: schema_version 2, but this ilag reads 1; update ilag" in text
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "3 har et format rapporten ikke kjenner (new.json, odd.json, old.json)" in html
    assert _restore_badge(html, "andoy") == "Mangler"


def test_a_writer_that_breaks_the_schema_fails_before_writing(tmp_path: Path) -> None:
    from ilag_infra.onsite import recordstore

    bad = {**envelope("drill", "bo", NOW, True), "hosts": [{"host": "bo-fil01"}]}
    with pytest.raises(recordschema.RecordError, match=r"hosts\.0\.ok: Field required"):
        recordstore.save(tmp_path, "x.json", bad)
    assert not (tmp_path / "x.json").exists()
