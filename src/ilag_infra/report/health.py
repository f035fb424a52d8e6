"""What a leader asks per municipality, answered from the newest run record of each kind.

Every answer is one of: ok, warn, bad, or missing. Missing means no record exists, and the
page says so; it never shows a missing source as zero or as fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ilag_infra.report.records import Records, RunRecord, full_converge, parse_time, playbook_name

OK, WARN, BAD, MISSING = "ok", "warn", "bad", "missing"
_RANK = {OK: 0, MISSING: 1, WARN: 2, BAD: 3}
_GOOD_WORDS = {"ok", "success", "succeeded", "successful", "passed", "verified", "fresh", "done"}


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

    @property
    def when(self) -> datetime | None:
        return self.record.time if self.record else None


def _good(value: Any) -> bool | None:
    """True/False for the usual ways records say ok or not; None when they do not say."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value:
        return value.strip().lower() in _GOOD_WORDS
    return None


def converge(records: Records, slug: str) -> Section:
    """The newest full converge (site.yml, no --check/--tags/--limit) of the municipality."""
    rec = records.latest("apply", slug, full_converge)
    if rec is None:
        return Section(MISSING)
    hosts_raw = rec.data.get("hosts")
    hosts: list[HostLine] = []
    if isinstance(hosts_raw, dict):
        for name, h in sorted(hosts_raw.items()):
            if not isinstance(h, dict):
                continue
            if h.get("unreachable"):
                state, detail = BAD, "unreachable"
            elif h.get("failed"):
                state, detail = BAD, "failed"
            elif h.get("changed") and rec.data.get("check"):
                state, detail = WARN, "drift"
            else:
                state, detail = OK, "changed" if h.get("changed") else "ok"
            hosts.append(HostLine(str(name), state, detail, rec.time))
    if not hosts:
        overall = BAD if _good(rec.data.get("status")) is False else MISSING
    else:
        overall = worst(*(h.state for h in hosts))
    if rec.data.get("rc") not in (0, None) and overall == OK:
        overall = BAD
    partial = bool(rec.data.get("tags") or rec.data.get("limit"))
    facts = {
        "status": str(rec.data.get("status", "")),
        "check": "yes" if rec.data.get("check") else "no",
        "partial": "yes" if partial else "no",
        "commit": str(rec.data.get("git_commit", ""))[:12],
    }
    return Section(overall, rec, hosts, facts)


def _host_items(raw: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(raw, dict):
        return [(str(k), v) for k, v in sorted(raw.items()) if isinstance(v, dict)]
    if isinstance(raw, list):
        out = []
        for item in raw:
            if isinstance(item, dict):
                name = item.get("host") or item.get("name") or "?"
                out.append((str(name), item))
        return out
    return []


def backups(records: Records, slug: str, now: datetime, max_age: timedelta) -> Section:
    """Per backup client: fresh only if its last success is within max_age of now.

    A backup-status record says `fresh` as of when it was checked; a record days old that
    said fresh then is stale now, so the age is always judged again here."""
    rec = records.latest("backup", slug)
    if rec is None:
        return Section(MISSING)
    hosts: list[HostLine] = []
    for name, h in _host_items(rec.data.get("hosts")):
        last = parse_time(h.get("last_success"))
        state_word = str(h.get("state", "")).strip().lower()
        recorded = _good(h.get("fresh"))
        fresh = last is not None and now - last <= max_age and recorded is not False
        failed = state_word in ("failed", "error", "partial") or h.get("verdict") == "failed"
        if failed:
            detail = "failed"
        elif state_word in ("unreachable", "not installed", "unreadable"):
            detail, fresh = state_word, False
        else:
            detail = "fresh" if fresh else "stale"
        hosts.append(HostLine(name, OK if fresh and not failed else BAD, detail, last))
    overall = worst(*(h.state for h in hosts)) if hosts else MISSING
    return Section(overall, rec, hosts)


def _restore_test(rec: RunRecord) -> bool:
    """An apply record of playbooks/restore-test.yml: it restores and compares the canary."""
    return (
        rec.kind == "apply"
        and playbook_name(rec) == "restore-test.yml"
        and not rec.data.get("check")
    )


def _from_restore_test(rec: RunRecord) -> Section:
    hosts = []
    for name, h in _host_items(rec.data.get("hosts")):
        if h.get("unreachable"):
            hosts.append(HostLine(name, BAD, "unreachable", rec.time))
        elif h.get("failed"):
            hosts.append(HostLine(name, BAD, "failed", rec.time))
        else:
            hosts.append(HostLine(name, OK, "verified", rec.time))
    ok = bool(hosts) and rec.data.get("rc") in (0, None) and all(h.state == OK for h in hosts)
    return Section(OK if ok else BAD, rec, hosts, {"playbook": "restore-test.yml"})


def restore(records: Records, slug: str) -> Section:
    """The newest restore test: a `restore` record (ilag restore, the drill's restore) or an
    apply record of the restore-test playbook, whichever is newer."""
    candidates = [
        r
        for r in (records.latest("restore", slug), records.latest("apply", slug, _restore_test))
        if r is not None
    ]
    if not candidates:
        return Section(MISSING)
    epoch = datetime.min.replace(tzinfo=UTC)
    rec = max(candidates, key=lambda r: (r.time or epoch, str(r.path)))
    if rec.kind == "apply":
        return _from_restore_test(rec)
    ok = _good(rec.data.get("ok", rec.data.get("verified", rec.data.get("status"))))
    hosts = [
        HostLine(name, OK if _good(h.get("ok", h.get("verified", h.get("status")))) else BAD)
        for name, h in _host_items(rec.data.get("hosts"))
    ]
    if ok is None and hosts:
        ok = all(h.state == OK for h in hosts)
    host = rec.data.get("host")
    if not hosts and isinstance(host, str):
        hosts = [HostLine(host, OK if ok else BAD)]
    return Section(OK if ok else BAD, rec, hosts)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _find(data: dict[str, Any], name: str) -> float | None:
    """RTO/RPO in seconds under the usual spellings, at the top or in a summary block."""
    for block in (data, data.get("summary"), data.get("totals"), data.get("result")):
        if not isinstance(block, dict):
            continue
        for key in (f"{name}_seconds", f"{name}_s", name):
            if key in block:
                found = _seconds(block[key])
                if found is not None:
                    return found
    return None


def seconds_of(data: dict[str, Any], name: str) -> float | None:
    """A record's RTO or RPO in seconds (name rto or rpo), under any of its spellings."""
    return _find(data, name)


def duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def drill(records: Records, slug: str) -> Section:
    rec = records.latest("drill", slug)
    if rec is None:
        return Section(MISSING)
    ok = _good(rec.data.get("ok", rec.data.get("status", rec.data.get("verified"))))
    facts = {}
    for name in ("rto", "rpo"):
        value = _find(rec.data, name)
        if value is not None:
            facts[name] = duration(value)
    hosts = []
    for name, h in _host_items(rec.data.get("hosts")):
        parts = [
            f"{label} {duration(v)}"
            for label, v in (("RTO", _find(h, "rto")), ("RPO", _find(h, "rpo")))
            if v is not None
        ]
        hosts.append(HostLine(name, OK if _good(h.get("ok")) else BAD, ", ".join(parts)))
    state = BAD if ok is False else (OK if facts else WARN)
    return Section(state, rec, hosts, facts)
