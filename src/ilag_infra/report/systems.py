"""Each system in each municipality, judged from the run records: is its data backed up, when
was a restore last verified, what did the last drill measure against its targets, and is it
on the region's chosen product.

Read from the same records as the report (report.records); nothing here reaches a host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ilag_infra.model.backupset import covers
from ilag_infra.model.systems import LoadedSystems, Placement, System
from ilag_infra.report import health
from ilag_infra.report.records import Records, RunRecord

YES, PARTLY, NO, NOT_HERE = "yes", "partly", "no", "n/a"


@dataclass(frozen=True)
class PathState:
    host: str
    path: str
    backed_up: bool
    detail: str  # in the snapshot | in the backup set, host backed up | why not


@dataclass(frozen=True)
class Measure:
    """A drill's figure for the system's hosts against the system's target, in seconds."""

    measured: float | None
    target: float

    @property
    def met(self) -> bool | None:
        return None if self.measured is None else self.measured <= self.target


@dataclass(frozen=True)
class SystemStatus:
    system: System
    slug: str
    placement: Placement
    backed_up: str  # yes | partly | no | n/a (SaaS or Azure: not this platform's backups)
    paths: tuple[PathState, ...]
    backup_record: RunRecord | None
    restore_verified: datetime | None
    restore_record: RunRecord | None
    rto: Measure
    rpo: Measure
    drill_record: RunRecord | None
    harmonised: bool

    @property
    def drill_time(self) -> datetime | None:
        return self.drill_record.time if self.drill_record else None

    def to_json(self) -> dict[str, Any]:
        def when(t: datetime | None) -> str | None:
            return t.isoformat(timespec="seconds") if t else None

        return {
            "system": self.system.id,
            "name": self.system.name,
            "sector": self.system.sector,
            "municipality": self.slug,
            "product": self.placement.product,
            "version": self.placement.version,
            "runs": self.placement.runs,
            "hosts": list(self.placement.hosts),
            "owner": self.placement.owner,
            "criticality": self.system.criticality,
            "backed_up": self.backed_up,
            "paths": [
                {"host": p.host, "path": p.path, "backed_up": p.backed_up, "detail": p.detail}
                for p in self.paths
            ],
            "backup_checked_at": when(self.backup_record.time if self.backup_record else None),
            "last_verified_restore": when(self.restore_verified),
            "rto": {"target_seconds": self.rto.target, "measured_seconds": self.rto.measured,
                    "met": self.rto.met},
            "rpo": {"target_seconds": self.rpo.target, "measured_seconds": self.rpo.measured,
                    "met": self.rpo.met},
            "drill_at": when(self.drill_time),
            "harmonised": self.harmonised,
            "harmonisation_target": self.system.harmonisation.product,
            "harmonisation_by": self.system.harmonisation.by.isoformat(),
        }  # fmt: skip


def _host_entries(rec: RunRecord | None) -> dict[str, dict[str, Any]]:
    if rec is None:
        return {}
    raw = rec.record.model_dump(mode="json").get("hosts")
    items: list[tuple[str, Any]] = []
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = [(str(h.get("host") or h.get("name")), h) for h in raw if isinstance(h, dict)]
    return {name: h for name, h in items if isinstance(h, dict)}


def _host_backed_up(entry: dict[str, Any]) -> bool:
    """The host's last backup succeeded (state ok, or a fresh verdict)."""
    state = str(entry.get("state", "")).strip().lower()
    return state == "ok" or entry.get("verdict") == "fresh" or entry.get("fresh") is True


def _paths(
    placement: Placement, backup_sets: dict[str, list[str]], rec: RunRecord | None
) -> list[PathState]:
    """Per host and data path. The snapshot's own paths decide when the record has them;
    otherwise the configured backup set and the host's last backup result."""
    entries = _host_entries(rec)
    out = []
    for host in placement.hosts:
        configured = backup_sets.get(host)
        entry = entries.get(host)
        for path in placement.data_paths:
            snap = entry.get("snapshot_paths") if entry else None
            if configured is None or not covers(configured, path):
                out.append(PathState(host, path, False, "not in the host's backup set"))
            elif entry is None:
                out.append(PathState(host, path, False, "no backup record for the host"))
            elif not _host_backed_up(entry):
                state = entry.get("state") or entry.get("verdict") or "unknown"
                out.append(PathState(host, path, False, f"last backup {state}"))
            elif isinstance(snap, list):
                inside = covers([str(p) for p in snap], path)
                detail = "in the newest snapshot" if inside else "not in the newest snapshot"
                out.append(PathState(host, path, inside, detail))
            else:
                out.append(PathState(host, path, True, "in the backup set; last backup ok"))
    return out


def _verdict(paths: list[PathState]) -> str:
    if not paths:
        return NO
    good = sum(p.backed_up for p in paths)
    return YES if good == len(paths) else (NO if good == 0 else PARTLY)


def _restored_at(section: health.Section, hosts: tuple[str, ...]) -> datetime | None:
    """When a restore of (one of) the system's hosts last verified; a restore of another
    host proves the repository and the procedure, not this system's data, so it does not count
    when the record names its hosts."""
    # A verified restore stays the last verified one as it ages; the report ages it.
    if section.record is None or not section.record.record.ok:
        return None
    if any(h.state != health.OK for h in section.hosts):
        return None
    named = {h.name for h in section.hosts}
    if named and not named & set(hosts):
        return None
    return section.record.time


def _seconds(entry: dict[str, Any], name: str) -> float | None:
    """The record schema's rto_seconds or rpo_seconds (docs/interfaces.md)."""
    value = entry.get(f"{name}_seconds")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _drill_measures(rec: RunRecord | None, hosts: tuple[str, ...]) -> tuple[float | None, ...]:
    """The largest RTO and RPO the drill measured over the system's hosts (the system is back
    only when all of them are); the drill's overall figures when it names no hosts."""
    if rec is None:
        return None, None
    entries = _host_entries(rec)
    mine = [entries[h] for h in hosts if h in entries]
    if not mine:
        if entries:
            return None, None
        whole = rec.record.model_dump(mode="json")
        return _seconds(whole, "rto"), _seconds(whole, "rpo")
    result = []
    for name in ("rto", "rpo"):
        values = [_seconds(e, name) for e in mine]
        result.append(None if None in values else max(v for v in values if v is not None))
    return tuple(result)


def status(
    loaded: LoadedSystems,
    records: Records,
    backup_sets: dict[str, dict[str, list[str]]],
    slugs: list[str] | None = None,
) -> list[SystemStatus]:
    """One row per system and municipality, in register order (or only those of slugs)."""
    rows = []
    for system in loaded.register.systems:
        for slug, placement in system.municipalities.items():
            if slugs and slug not in slugs:
                continue
            backup_rec = records.latest("backup", slug)
            onsite = placement.runs == "onsite"
            paths = _paths(placement, backup_sets.get(slug, {}), backup_rec) if onsite else []
            restore = health.restore(records, slug, datetime.now(UTC))
            drill_rec = records.latest("drill", slug)
            rto, rpo = _drill_measures(drill_rec, placement.hosts) if onsite else (None, None)
            rows.append(
                SystemStatus(
                    system=system,
                    slug=slug,
                    placement=placement,
                    backed_up=_verdict(paths) if onsite else NOT_HERE,
                    paths=tuple(paths),
                    backup_record=backup_rec,
                    restore_verified=_restored_at(restore, placement.hosts) if onsite else None,
                    restore_record=restore.record,
                    rto=Measure(rto, system.rto_hours * 3600),
                    rpo=Measure(rpo, system.rpo_hours * 3600),
                    drill_record=drill_rec if onsite else None,
                    harmonised=system.harmonised(slug),
                )
            )
    return rows


@dataclass(frozen=True)
class Matrix:
    """Sector × municipality: the product in each cell, and how harmonised each sector is."""

    slugs: list[str]
    sectors: list[str]
    cells: dict[tuple[str, str], list[str]]  # (sector, slug) → "product" per system
    sector_share: dict[str, float]  # share of placements on the chosen product
    region_share: float | None


def matrix(loaded: LoadedSystems, slugs: list[str]) -> Matrix:
    sectors = sorted({s.sector for s in loaded.register.systems})
    cells: dict[tuple[str, str], list[str]] = {}
    counts: dict[str, list[int]] = {sector: [0, 0] for sector in sectors}
    for system in loaded.register.systems:
        for slug, placement in system.municipalities.items():
            cells.setdefault((system.sector, slug), []).append(placement.product)
            counts[system.sector][0] += system.harmonised(slug)
            counts[system.sector][1] += 1
    share = {sector: done / total for sector, (done, total) in counts.items() if total}
    done = sum(c[0] for c in counts.values())
    total = sum(c[1] for c in counts.values())
    return Matrix(slugs, sectors, cells, share, done / total if total else None)
