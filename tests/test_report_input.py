"""`ilag report` on bad input: exit 2, the option or file and key named, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from tests.test_report_data import write_records

FIX = Path(__file__).resolve().parent / "fixtures" / "costs"


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str]:
    runs = tmp_path / "runs"
    if not runs.exists():
        write_records(runs)
    argv = ["report", "--runs", str(runs), "--no-plan", *args]
    if "--out" not in args:
        argv += ["--out", str(tmp_path / "site")]
    code = main(argv)
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err


def costs_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, **changes: object) -> Path:
    assert main(["costs", str(FIX / "focus-small.csv"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr()[0])
    data.update(changes)
    path = tmp_path / "costs.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["/proc/ilag-report", "/etc/passwd"])
def test_an_out_that_cannot_be_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, where: str
) -> None:
    code, err = run(capsys, tmp_path, "--out", where)
    assert code == 2 and "--out" in err and where in err and "give --out a directory" in err


def test_a_bad_period_is_refused_before_anything_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run(capsys, tmp_path, "--costs", str(FIX / "ea-small.csv"), "--period", "2025-13")
    assert code == 2 and "--period" in err and "month 13" in err
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"lines": "andoy"}, "lines"),
        ({"key": None}, "key"),
        ({"sources": {"file": "x"}}, "sources"),
        ({"period": 202610}, "period"),
        ({"total": [1]}, "total"),
        ({"lines": [{"municipality": "lodingen", "direct": "1", "shared": "1", "total": "2"}]},
         "lines[0].municipality"),
        ({"lines": ["andoy"]}, "lines[0]"),
    ],
)  # fmt: skip
def test_a_costs_json_of_the_wrong_shape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, changes: dict[str, object], key: str
) -> None:
    path = costs_json(capsys, tmp_path, **changes)
    code, err = run(capsys, tmp_path, "--costs", str(path))
    assert code == 2 and f"{path}: {key}:" in err, err
    assert "ilag costs" in err and not (tmp_path / "site").exists()


def test_period_with_a_costs_json_must_be_its_month(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = costs_json(capsys, tmp_path)
    code, err = run(capsys, tmp_path, "--costs", str(path), "--period", "2026-09")
    assert code == 2 and "split of 2026-10, but --period says 2026-09" in err
    code, err = run(capsys, tmp_path, "--costs", str(path), "--period", "2026-10")
    assert code == 0, err


def test_runs_must_be_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for runs in (tmp_path / "nonexistent", FIX / "ea-small.csv"):
        code = main(["report", "--runs", str(runs), "--no-plan", "--out", str(tmp_path / "s")])
        _, err = capsys.readouterr()
        assert code == 2 and "--runs" in err and str(runs) in err
    assert not (tmp_path / "s").exists()


def test_the_page_shows_one_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, err = run(capsys, tmp_path, "--env", "prod")
    assert code == 0, err
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "hadsel-app01" not in html  # every record in the fixture is a lab record
    assert "8 fra andre miljøer er holdt utenfor" in html
    assert "Miljø: produksjon" in html and "Lab – ikke produksjon" not in html
    for slug in ("hadsel", "bo", "sortland"):  # nor on a municipality's own page
        own = (tmp_path / "site" / f"{slug}.html").read_text(encoding="utf-8")
        assert f"{slug}-" not in own and "Lab – ikke produksjon" not in own
    monkeypatch.setenv("ILAG_ENV", "lab")
    code, err = run(capsys, tmp_path)
    assert code == 0, err
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "hadsel-app01" in html and "Lab – ikke produksjon" in html
    assert "Lab – ikke produksjon" in (tmp_path / "site" / "hadsel.html").read_text("utf-8")


def test_words_from_an_export_are_escaped_in_the_page(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    evil = "<script>alert(1)</script>.csv"
    path = costs_json(capsys, tmp_path, sources=[{"file": evil}])
    code, err = run(capsys, tmp_path, "--costs", str(path))
    assert code == 0, err
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
