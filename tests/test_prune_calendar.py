"""The prune test's expectation holds on any date: restic's keep rules worked out in
tests/restic_keep.py, checked by hand at fixed "now" values (mid-month, the first of a month,
31 December, 1 January) and against the real restic on a local repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ilag_infra.model.retention import Retention

from . import restic_keep

RULES = Retention(daily=2, weekly=0, monthly=3, yearly=2)

# now -> the days kept, worked out by hand from restic_keep.DAYS_BACK and RULES.
BY_HAND = {
    "2026-11-15T12:00": ["2026-11-15", "2026-11-03", "2026-09-28", "2026-08-27", "2025-11-10"],
    "2026-12-01T00:30": ["2026-12-01", "2026-11-19", "2026-10-14", "2025-11-26"],
    "2026-12-31T23:00": ["2026-12-31", "2026-12-19", "2026-11-13", "2026-10-30", "2025-12-26"],
    "2027-01-01T08:00": ["2027-01-01", "2026-12-20", "2026-11-14"],
}


def _times(now_text: str) -> list[datetime]:
    now = datetime.fromisoformat(now_text).replace(tzinfo=UTC)
    return [*restic_keep.fake_times(now), now]


@pytest.mark.parametrize("now_text", sorted(BY_HAND))
def test_keep_rules_on_fixed_dates(now_text: str) -> None:
    kept = [t.strftime("%Y-%m-%d") for t in restic_keep.kept(_times(now_text), RULES)]
    assert kept == BY_HAND[now_text]


def test_a_rule_left_at_zero_keeps_nothing_and_last_keeps_the_newest() -> None:
    times = _times("2026-12-01T00:30")
    assert restic_keep.kept(times, Retention(daily=0)) == []
    assert restic_keep.kept(times, Retention(last=2)) == sorted(times, reverse=True)[:2]


@pytest.mark.parametrize("now_text", sorted(BY_HAND))
def test_real_restic_keeps_the_same(now_text: str, tmp_path: Path) -> None:
    restic = shutil.which("restic")
    assert restic, "restic is installed by `make setup` (apt)"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TZ": "UTC",
        "RESTIC_REPOSITORY": str(tmp_path / "repo"),
        "RESTIC_PASSWORD": "test-only",
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
    }

    def run(*args: str) -> str:
        proc = subprocess.run(
            [restic, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    run("init", "-q")
    data = tmp_path / "probe.bin"
    for n, t in enumerate(_times(now_text)):
        data.write_bytes(n.to_bytes(4, "big") * 64)
        run("backup", "-q", "--host", "h", "--time", f"{t:%Y-%m-%d %H:%M:%S}", str(data))
    out = run("forget", "--json", "--dry-run", "--group-by", "host", *RULES.forget_args())
    groups = json.loads(out.strip().splitlines()[-1])
    by_restic = sorted(g["time"][:10] for g in groups[0]["keep"])
    assert by_restic == sorted(BY_HAND[now_text])
