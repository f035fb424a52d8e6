"""The last 12 months per municipality, from the records the report already reads: backup
checks that passed, and drift found, per calendar month in Norwegian time.

Cost is not here: the report is given one month's cost split, not a series (docs/report.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ilag_infra.onsite.recordschema import CheckRecord, DriftRecord
from ilag_infra.report import health, labels
from ilag_infra.report.labels import plural
from ilag_infra.report.records import Records

MONTHS = 12
BAR_W, GAP, HEIGHT = 16, 4, 40


@dataclass(frozen=True)
class Month:
    key: str  # 2026-11
    label: str  # nov. 2026
    text: str  # "3 av 4", "2", or "ingen registreringer"
    fraction: float | None  # bar height 0..1; None: nothing recorded that month
    state: str  # ok | warn | bad | missing, the bar's colour
    x: int = 0
    h: float = 0.0


@dataclass(frozen=True)
class Series:
    key: str
    title: str
    months: list[Month]
    width: int = MONTHS * (BAR_W + GAP)
    height: int = HEIGHT

    @property
    def summary(self) -> str:
        return "; ".join(f"{m.label}: {m.text}" for m in self.months)


def month_keys(now: datetime, count: int = MONTHS) -> list[str]:
    """The `count` calendar months up to and including now's, oldest first, in Oslo time."""
    local = now.astimezone(labels.OSLO)
    year, month = local.year, local.month
    keys = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return keys[::-1]


def _key(t: datetime) -> str:
    return t.astimezone(labels.OSLO).strftime("%Y-%m")


def _placed(months: list[Month]) -> list[Month]:
    return [
        Month(m.key, m.label, m.text, m.fraction, m.state, i * (BAR_W + GAP),
              round(max(m.fraction or 0.0, 0.06) * HEIGHT, 1) if m.fraction is not None else 2.0)
        for i, m in enumerate(months)
    ]  # fmt: skip


def backups(records: Records, slug: str, now: datetime, lang: str = "nb") -> Series:
    """Backup checks per month whose verdict was ok, out of all that month's checks."""
    t = labels.LABELS[lang]
    keys = month_keys(now)
    done: dict[str, list[bool]] = {k: [] for k in keys}
    for r in records.records:
        if r.kind == "backup" and r.municipality == slug and _key(r.time) in done:
            done[_key(r.time)].append(r.record.ok)
    months = []
    for k in keys:
        results = done[k]
        if not results:
            months.append(Month(k, labels.month(k, lang), t["history_none"], None, health.MISSING))
            continue
        good = sum(results)
        state = health.OK if good == len(results) else (health.BAD if good == 0 else health.WARN)
        months.append(
            Month(k, labels.month(k, lang), f"{good} {t['of']} {plural(len(results), t['check'], t['checks'])}",
                  good / len(results), state)
        )  # fmt: skip
    return Series("backups", t["history_backups"], _placed(months))


def _drift_count(record: object) -> int:
    if isinstance(record, DriftRecord):
        return sum(1 for h in record.hosts if h.items) or (0 if record.ok else len(record.hosts))
    if isinstance(record, CheckRecord):
        # A check run changes nothing; a host it would change differs from the wanted state.
        return sum(1 for h in record.hosts.values() if h.changed or h.failed)
    return 0


def drift(records: Records, slug: str, now: datetime, lang: str = "nb") -> Series:
    """Hosts found to differ from the wanted state, per month (drift and check records)."""
    t = labels.LABELS[lang]
    keys = month_keys(now)
    counts: dict[str, int | None] = dict.fromkeys(keys)
    for r in records.records:
        if r.kind in ("drift", "check") and r.municipality == slug and _key(r.time) in counts:
            counts[_key(r.time)] = (counts[_key(r.time)] or 0) + _drift_count(r.record)
    top = max((c for c in counts.values() if c), default=0)
    months = []
    for k in keys:
        c = counts[k]
        if c is None:
            months.append(Month(k, labels.month(k, lang), t["history_none"], None, health.MISSING))
        else:
            months.append(
                Month(k, labels.month(k, lang), str(c), c / top if top else 0.0,
                      health.OK if c == 0 else health.WARN)
            )  # fmt: skip
    return Series("drift", t["history_drift"], _placed(months))
