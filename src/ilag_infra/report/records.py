"""Run records read by their schema: every JSON record in runs/, by kind, place and time.

Each record is parsed by onsite/recordschema; its kind, municipality, time and verdict are the
schema's fields, never guessed. A record the schema cannot read (written before the schema, of
an unknown kind, or broken) is set aside with the reason, so the report can say so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath

from ilag_infra.onsite import recordschema, recordstore
from ilag_infra.onsite.recordschema import ApplyRecord, Record

# Directories under runs/ that hold ansible-runner artifacts, locks or the store's outbox
# (copies of records already here), never records of their own.
_SKIP_DIRS = {
    "artifacts",
    "job_events",
    "env",
    "locks",
    "fact_cache",
    "inventory",
    "project",
    "outbox",
}


@dataclass(frozen=True)
class RunRecord:
    path: Path
    record: Record

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def municipality(self) -> str:
        return self.record.municipality

    @property
    def time(self) -> datetime:
        return self.record.time.astimezone(UTC)

    @property
    def environment(self) -> str:
        return self.record.environment


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        found += [Path(here) / f for f in sorted(files) if f.endswith(".json")]
    return found


def playbook_name(rec: RunRecord) -> str:
    """site.yml for an apply record of playbooks/site.yml, whatever path the run gave."""
    return PurePath(rec.record.playbook).name if isinstance(rec.record, ApplyRecord) else ""


def full_converge(rec: RunRecord) -> bool:
    """A real converge of the whole municipality: kind apply (not check), site.yml, no
    --tags or --limit. A tagged or limited run converges only part of it."""
    r = rec.record
    return (
        r.kind == "apply"
        and isinstance(r, ApplyRecord)
        and playbook_name(rec) == "site.yml"
        and not r.tags
        and not r.limit
    )


@dataclass
class Records:
    root: Path
    records: list[RunRecord]
    unreadable: list[Path]
    environment: str = ""
    # Records of other environments, left out so that a lab run never stands in for production.
    other_environments: int = 0
    # Records the schema cannot read, each with the reason (old, unknown kind, broken).
    rejected: list[str] = field(default_factory=list)

    def latest(
        self, kind: str, slug: str, where: Callable[[RunRecord], bool] | None = None
    ) -> RunRecord | None:
        mine = [
            r
            for r in self.records
            if r.kind == kind and r.municipality == slug and (where is None or where(r))
        ]
        if not mine:
            return None
        return max(mine, key=lambda r: (r.time, str(r.path)))

    @property
    def newest(self) -> datetime | None:
        times = [r.time for r in self.records]
        return max(times) if times else None

    @property
    def environments(self) -> list[str]:
        return sorted({r.environment for r in self.records if r.environment})


def load(root: Path, environment: str | None = None) -> Records:
    """Every record under `root` read by schema; unreadable or rejected files are listed with
    the reason, never fatal and never read by guessing.

    With `environment`, only that environment's records are kept; the others are counted."""
    records: list[RunRecord] = []
    unreadable: list[Path] = []
    rejected: list[str] = []
    other = 0
    if not root.is_dir():
        return Records(root, [], [], environment or "")
    for path in _files(root):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            unreadable.append(path)
            continue
        try:
            rec = recordschema.parse(data, str(path))
        except recordschema.RecordError as exc:
            rejected.append(str(exc))
            continue
        if environment is not None and rec.environment != environment:
            other += 1
            continue
        records.append(RunRecord(path, rec))
    return Records(root, records, unreadable, environment or "", other, rejected)


def load_store(url: str, environment: str) -> Records:
    """The environment's records from the region's record store: every machine's runs.

    Other environments are not fetched at all (the store lists by environment), so none is
    counted as left out."""
    records: list[RunRecord] = []
    rejected: list[str] = []
    for stored in recordstore.list_records(url, environment):
        if stored.record is None:
            rejected.append(stored.error or stored.name)
        else:
            records.append(RunRecord(Path(stored.name), stored.record))
    return Records(Path("(record store)"), records, [], environment, 0, rejected)
