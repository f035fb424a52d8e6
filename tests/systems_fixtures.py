"""A small repository (region, inventories, role defaults, backup stack) with a systems
register and run records, for the systems tests. Times are fixed: no test reads the clock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.test_report_data import envelope

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

REGISTER = """\
---
example: true
systems:
  - id: journal
    name: Journal
    sector: helse
    vendor: Leverandør A
    criticality: critical
    rto_hours: 4
    rpo_hours: 24
    harmonisation: {product: Journal Alfa, by: 2027-12-31}
    municipalities:
      bo:
        product: Journal Alfa
        version: "5"
        runs: onsite
        hosts: [bo-fil01]
        data_paths: [/srv/journal]
        owner: Helsesjef
      sortland:
        product: Journal Beta
        version: "2"
        runs: onsite
        hosts: [sortland-fil01, sortland-db01]
        data_paths: [/srv/journal]
        owner: Helsesjef
  - id: drift
    name: Driftskontroll
    sector: teknisk
    vendor: Leverandør B
    criticality: medium
    rto_hours: 0.05
    rpo_hours: 168
    harmonisation: {product: Drift Zeta, by: 2028-01-01}
    municipalities:
      bo:
        product: Drift Zeta
        version: "3"
        runs: onsite
        hosts: [bo-util01]
        data_paths: [/home/drift]
        owner: Teknisk sjef
      hadsel: {product: Drift Zeta, version: "3", runs: saas, owner: Teknisk sjef}
"""


def repo(tmp: Path, register: str = REGISTER) -> Path:
    """tmp/region.yaml, inventories/, the backup and identity roles' defaults and the
    backup stack."""
    shutil.copy(REPO / "region.yaml", tmp / "region.yaml")
    shutil.copytree(REPO / "inventories", tmp / "inventories")
    (tmp / "roles" / "backup_agent" / "defaults").mkdir(parents=True)
    shutil.copy(
        REPO / "roles/backup_agent/defaults/main.yml", tmp / "roles/backup_agent/defaults/main.yml"
    )
    (tmp / "roles" / "identity" / "defaults").mkdir(parents=True)
    shutil.copy(REPO / "roles/identity/defaults/main.yml", tmp / "roles/identity/defaults/main.yml")
    (tmp / "stacks").mkdir()
    shutil.copy(REPO / "stacks/Pulumi.backup.yaml", tmp / "stacks/Pulumi.backup.yaml")
    (tmp / "systems.yaml").write_text(register, encoding="utf-8")
    _commit(tmp)
    return tmp / "region.yaml"


CODE_DATE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _commit(tmp: Path) -> None:
    """A git repository, so facts read from code carry the commit's date (CODE_DATE)."""
    stamp = CODE_DATE.isoformat()
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
           "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}  # fmt: skip
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]):
        subprocess.run(["git", "-C", str(tmp), *args], env=env, check=True, timeout=60)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def records(runs: Path, now: datetime = NOW) -> Path:
    """Bø: fil01's snapshot holds /srv, util01's newest snapshot left /home out; a restore of
    bo-fil01; a drill 3 h ago (fil01 RTO 20 min, util01 RTO 10 min, RPO 2 h).
    Sortland: fil01 ok without snapshot paths, db01 failed; no drill."""
    runs.mkdir(parents=True, exist_ok=True)

    def env(
        kind: str, slug: str, when: datetime, ok: bool, environment: str = "lab"
    ) -> dict[str, Any]:
        return envelope(kind, slug, when, ok, environment)

    def backup(slug: str, when: datetime, hosts: list[dict[str, Any]]) -> dict[str, Any]:
        ok = all(h["state"] == "ok" for h in hosts)
        return {
            **env("backup", slug, when, ok),
            "action": "status",
            "max_age_hours": 26.0,
            "hosts": [{"fresh": h["state"] == "ok", **h} for h in hosts],
        }

    recs: dict[str, dict[str, Any]] = {
        "b-bo-old.json": backup("bo", now - timedelta(days=3), [
            {"host": "bo-util01", "state": "ok", "snapshot_paths": ["/etc", "/home"]},
        ]),
        "b-bo.json": backup("bo", now - timedelta(hours=1), [
            {"host": "bo-fil01", "state": "ok", "snapshot_paths": ["/etc", "/root", "/srv"]},
            {"host": "bo-util01", "state": "ok", "snapshot_paths": ["/etc", "/root"]},
        ]),
        "b-sortland.json": backup("sortland", now - timedelta(hours=2), [
            {"host": "sortland-fil01", "state": "ok"},
            {"host": "sortland-db01", "state": "failed"},
        ]),
        "r-bo.json": {**env("restore", "bo", now - timedelta(hours=5), True), "host": "bo-fil01"},
        "d-bo.json": {
            **env("drill", "bo", now - timedelta(hours=3), True),
            "disaster_at": _iso(now - timedelta(hours=3, minutes=30)),
            "rto_seconds": 1200.0, "rpo_seconds": 7200.0,
            "hosts": [
                {"host": "bo-fil01", "rto_seconds": 1200.0, "rpo_seconds": 7200.0, "ok": True},
                {"host": "bo-util01", "rto_seconds": 600.0, "rpo_seconds": 3600.0, "ok": True},
            ],
        },
        "d-prod.json": {
            **env("drill", "bo", now, True, environment="prod"),
            "rto_seconds": 1.0, "rpo_seconds": 1.0, "hosts": [],
        },
    }  # fmt: skip
    for name, data in recs.items():
        (runs / name).write_text(json.dumps(data), encoding="utf-8")
    return runs
