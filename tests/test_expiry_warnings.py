"""`ilag validate` warns before the site SAS run out, naming file, key and fix."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.model import expiry

REPO = Path(__file__).resolve().parents[1]


def _repo(tmp_path: Path, sas: str, days: str | None = None) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("region.yaml", "inventories", "roles", "systems.yaml"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        elif src.exists():
            shutil.copy(src, tmp_path / name)
    (tmp_path / "stacks").mkdir()
    text = (REPO / "stacks" / "Pulumi.backup.yaml").read_text("utf-8")
    text = text.replace('ilag:sasExpiry: "2027-06-30T00:00:00Z"', f'ilag:sasExpiry: "{sas}"')
    if days is not None:
        text = text.replace("ilag:expiryWarningDays: 60", f"ilag:expiryWarningDays: {days}")
    (tmp_path / "stacks" / "Pulumi.backup.yaml").write_text(text, "utf-8")
    return tmp_path


def test_no_warning_far_from_the_date(tmp_path: Path) -> None:
    root = _repo(tmp_path, "2027-06-30T00:00:00Z")
    assert expiry.warnings(root, datetime(2026, 12, 3, tzinfo=UTC)) == []


def test_a_warning_inside_the_window_names_file_line_key_and_fix(tmp_path: Path) -> None:
    root = _repo(tmp_path, "2027-01-15T00:00:00Z")
    [w] = expiry.warnings(root, datetime(2026, 12, 3, tzinfo=UTC))
    assert w.file == "stacks/Pulumi.backup.yaml" and w.key == "ilag:sasExpiry" and w.line
    assert "2027-01-15, in 43 day(s)" in w.message
    assert "pulumi config set ilag:sasExpiry" in w.fix and "ilag apply --all" in w.fix
    # The window is a setting.
    narrow = _repo(tmp_path / "narrow", "2027-01-15T00:00:00Z", days="30")
    assert expiry.warnings(narrow, datetime(2026, 12, 3, tzinfo=UTC)) == []


def test_a_passed_date_says_backups_fail(tmp_path: Path) -> None:
    root = _repo(tmp_path, "2026-11-30T00:00:00Z")
    [w] = expiry.warnings(root, datetime(2026, 12, 3, tzinfo=UTC))
    assert "ran out on 2026-11-30" in w.message and "403" in w.message


def test_validate_prints_and_reports_the_warning_and_still_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0)
    root = _repo(
        tmp_path, f"{soon.year + (soon.month == 12)}-{soon.month % 12 + 1:02d}-01T00:00:00Z"
    )
    assert main(["validate", "--region", str(root / "region.yaml"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [w["key"] for w in doc["expiry_warnings"]] == ["ilag:sasExpiry"]
    assert main(["validate", "--region", str(root / "region.yaml")]) == 0
    out = capsys.readouterr().out
    assert "warning" in out and "ilag:sasExpiry" in out and "fix:" in out
