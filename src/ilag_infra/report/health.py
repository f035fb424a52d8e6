"""What a leader asks per municipality, answered from the newest run record of each kind.

Every answer is one of: ok, warn, bad, or missing. Missing means no record exists, and the
page says so; it never shows a missing source as zero or as fine. Every answer ages: a result
older than its kind's window (recordschema.FRESHNESS) is at best warn, one older than twice
the window is bad.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ilag_infra.onsite import recordschema
from ilag_infra.onsite.recordschema import ApplyRecord, BackupRecord, DrillRecord
from ilag_infra.report.records import Records, RunRecord, full_converge, playbook_name

OK, WARN, BAD, MISSING = "ok", "warn", "bad", "missing"
_RANK = {OK: 0, MISSING: 1, WARN: 2, BAD: 3}


def worst(*states: str) -> str:
    return max(states, key=lambda s: _RANK[s]) if states else MISSING


@dataclass(frozen=True)
class HostLine:
    name: str
    state: str
    detail: str = ""
    when: datetime | None = None


@dataclass(frozen=True)
class Section:
    """One answer: its state, the record it came from, and host lines where there are hosts."""

    state: str
    record: RunRecord | None = None
    hosts: list[HostLine] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    # recordschema's fresh | aging | expired | missing for the record this answer came from.
    age: str = recordschema.MISSING

    @property
    def when(self) -> datetime | None:
        return self.record.time if self.record else None


def aged(section: Section, kind: str, now: datetime) -> Section:
    """The section with its age judged: past the window at best warn, past twice it bad."""
    if section.record is None:
        return section
    age = recordschema.age_state(kind, section.record.time, now)
    state = section.state
    if age == recordschema.EXPIRED:
        state = BAD
    elif age == recordschema.AGING:
        state = worst(state, WARN)
    return replace(section, state=state, age=age)


def judged(kind: str, record: recordschema.Record | None, now: datetime) -> str:
    """One record's answer by its verdict and age alone (`ilag records`): missing without one,
    bad if it failed or is past twice its window, warn past its window, else ok."""
    if record is None:
        return MISSING
    age = recordschema.age_state(kind, record.time, now)
    if not record.ok or age == recordschema.EXPIRED:
        return BAD
    return WARN if age == recordschema.AGING else OK


def _apply_hosts(rec: ApplyRecord, when: datetime) -> list[HostLine]:
    hosts = []
    for name, h in sorted(rec.hosts.items()):
        if h.unreachable:
            hosts.append(HostLine(name, BAD, "unreachable", when))
        elif h.failed:
            hosts.append(HostLine(name, BAD, "failed", when))
        else:
            hosts.append(HostLine(name, OK, "changed" if h.changed else "ok", when))
    return hosts


def converge(records: Records, slug: str, now: datetime) -> Section:
    """The newest full converge (site.yml, no --check/--tags/--limit) of the municipality."""
    rec = records.latest("apply", slug, full_converge)
    if rec is None or not isinstance(rec.record, ApplyRecord):
        return Section(MISSING)
    r = rec.record
    hosts = _apply_hosts(r, rec.time)
    # The writer's verdict first: a failed run is bad even if every host line looks clean.
    overall = worst(*(h.state for h in hosts)) if hosts else MISSING
    if not r.ok:
        overall = BAD
    facts = {
        "status": r.status,
        "check": "no",
        "partial": "no",
        "commit": r.git_commit[:12],
    }
    return aged(Section(overall, rec, hosts, facts), "apply", now)


def backups(records: Records, slug: str, now: datetime, max_age: timedelta) -> Section:
    """Per backup client: fresh only if its last success is within max_age of now.

    A backup record says `fresh` as of when it was checked; a record days old that said
    fresh then is stale now, so the age is always judged again here."""
    rec = records.latest("backup", slug)
    if rec is None or not isinstance(rec.record, BackupRecord):
        return Section(MISSING)
    hosts: list[HostLine] = []
    for h in rec.record.hosts:
        last = h.last_success
        fresh = h.fresh and last is not None and now - last <= max_age
        state_word = h.state.strip().lower()
        failed = state_word in ("failed", "error", "partial")
        if failed:
            detail = "failed"
        elif state_word in ("unreachable", "not installed", "unreadable"):
            detail, fresh = state_word, False
        else:
            detail = "fresh" if fresh else "stale"
        hosts.append(HostLine(h.host, OK if fresh and not failed else BAD, detail, last))
    overall = worst(*(h.state for h in hosts)) if hosts else MISSING
    if not rec.record.ok and overall == OK:
        overall = BAD
    return aged(Section(overall, rec, hosts), "backup", now)


def _restore_test(rec: RunRecord) -> bool:
    """An apply record of playbooks/restore-test.yml: it restores and compares the canary."""
    return rec.kind == "apply" and playbook_name(rec) == "restore-test.yml"


def restore(records: Records, slug: str, now: datetime) -> Section:
    """The newest restore test: a `restore` record (ilag restore, the drill's restore) or an
    apply record of the restore-test playbook, whichever is newer."""
    candidates = [
        r
        for r in (records.latest("restore", slug), records.latest("apply", slug, _restore_test))
        if r is not None
    ]
    if not candidates:
        return Section(MISSING)
    rec = max(candidates, key=lambda r: (r.time, str(r.path)))
    r = rec.record
    if isinstance(r, ApplyRecord):
        hosts = [
            HostLine(h.name, h.state, "verified" if h.state == OK else h.detail, h.when)
            for h in _apply_hosts(r, rec.time)
        ]
        ok = r.ok and bool(hosts) and all(h.state == OK for h in hosts)
        section = Section(OK if ok else BAD, rec, hosts, {"playbook": "restore-test.yml"})
    else:
        host = getattr(r, "host", "")
        section = Section(OK if r.ok else BAD, rec, [HostLine(host, OK if r.ok else BAD)])
    return aged(section, "restore", now)


def duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def drill(records: Records, slug: str, now: datetime) -> Section:
    rec = records.latest("drill", slug)
    if rec is None or not isinstance(rec.record, DrillRecord):
        return Section(MISSING)
    r = rec.record
    facts = {}
    for name, value in (("rto", r.rto_seconds), ("rpo", r.rpo_seconds)):
        if value is not None:
            facts[name] = duration(value)
    hosts = []
    for h in r.hosts:
        parts = [
            f"{label} {duration(v)}"
            for label, v in (("RTO", h.rto_seconds), ("RPO", h.rpo_seconds))
            if v is not None
        ]
        hosts.append(HostLine(h.host, OK if h.ok else BAD, ", ".join(parts)))
    # A drill that passed but measured no RTO answers only half its question.
    state = BAD if not r.ok else (OK if r.rto_seconds is not None else WARN)
    return aged(Section(state, rec, hosts, facts), "drill", now)
