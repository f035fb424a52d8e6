"""Run records read generically: every JSON record in runs/, sorted by kind, place and time.

Records come from several commands (apply today; backup status, restore tests and drills as
they gain records). The page must not break when a new kind appears or a field is missing, so
a record is read by its `kind` field (an apply record has none but names its playbook) and
only the fields each section needs are looked up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

# Directories under runs/ that hold ansible-runner artifacts or locks, never run records.
_SKIP_DIRS = {"artifacts", "job_events", "env", "locks", "fact_cache", "inventory", "project"}
KINDS = ("apply", "backup", "restore", "drill")


@dataclass(frozen=True)
class RunRecord:
    path: Path
    kind: str
    municipalities: tuple[str, ...]
    time: datetime | None
    environment: str
    data: dict[str, Any]


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text[:15], "%Y%m%dT%H%M%S")  # a run id: 20261130T141638Z-1
        except ValueError:
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def kind_of(data: dict[str, Any]) -> str:
    """apply | backup | restore | drill, or the record's own word for anything else."""
    raw = str(data.get("kind") or data.get("type") or "").strip().lower()
    if not raw:
        return "apply" if "playbook" in data else "unknown"
    for kind in KINDS:
        if raw.startswith(kind):
            return kind
    return raw


def _when(data: dict[str, Any]) -> datetime | None:
    for key in ("finished", "time", "timestamp", "ended", "checked_at", "started", "run_id"):
        found = parse_time(data.get(key))
        if found:
            return found
    return None


def _municipalities(data: dict[str, Any]) -> tuple[str, ...]:
    one = data.get("municipality") or data.get("slug")
    if isinstance(one, str) and one:
        return (one,)
    many = data.get("municipalities")
    if isinstance(many, list):
        return tuple(str(m) for m in many if isinstance(m, str))
    return ()


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        found += [Path(here) / f for f in sorted(files) if f.endswith(".json")]
    return found


def playbook_name(rec: RunRecord) -> str:
    """site.yml for an apply record of playbooks/site.yml, whatever path the run gave."""
    raw = rec.data.get("playbook")
    return PurePath(raw).name if isinstance(raw, str) else ""


def full_converge(rec: RunRecord) -> bool:
    """A real converge of the whole municipality: site.yml, no --check, --tags or --limit.

    A check run changes nothing and a tagged or limited run converges only part of it, so
    neither may say the municipality is converged."""
    d = rec.data
    return (
        rec.kind == "apply"
        and playbook_name(rec) == "site.yml"
        and not d.get("check")
        and not d.get("tags")
        and not d.get("limit")
    )


@dataclass
class Records:
    root: Path
    records: list[RunRecord]
    unreadable: list[Path]
    environment: str = ""
    # Records of other environments (or none), left out so that a lab run never stands in
    # for production.
    other_environments: int = 0

    def latest(
        self, kind: str, slug: str, where: Callable[[RunRecord], bool] | None = None
    ) -> RunRecord | None:
        mine = [
            r
            for r in self.records
            if r.kind == kind and slug in r.municipalities and (where is None or where(r))
        ]
        if not mine:
            return None
        epoch = datetime.min.replace(tzinfo=UTC)
        return max(mine, key=lambda r: (r.time or epoch, str(r.path)))

    @property
    def newest(self) -> datetime | None:
        times = [r.time for r in self.records if r.time]
        return max(times) if times else None

    @property
    def environments(self) -> list[str]:
        return sorted({r.environment for r in self.records if r.environment})


def load(root: Path, environment: str | None = None) -> Records:
    """Every readable record under `root`; unreadable files are counted, never fatal.

    With `environment`, only that environment's records are kept; the others are counted."""
    records: list[RunRecord] = []
    unreadable: list[Path] = []
    other = 0
    if not root.is_dir():
        return Records(root, [], [], environment or "")
    for path in _files(root):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            unreadable.append(path)
            continue
        if not isinstance(data, dict):
            continue
        kind = kind_of(data)
        munis = _municipalities(data)
        if kind == "unknown" or not munis:
            continue
        env = str(data.get("environment") or data.get("env") or "")
        if environment is not None and env != environment:
            other += 1
            continue
        records.append(
            RunRecord(
                path=path,
                kind=kind,
                municipalities=munis,
                time=_when(data),
                environment=env,
                data=data,
            )
        )
    return Records(root, records, unreadable, environment or "", other)
