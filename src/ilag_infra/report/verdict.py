"""One line per municipality in plain words: all in order, or what to follow up and why.

Read from the same answers as the badges (health.Section), so the line never disagrees with
the colour next to it."""

from __future__ import annotations

from ilag_infra.onsite import recordschema
from ilag_infra.report import health
from ilag_infra.report.labels import LABELS, plural

_NB = {
    "servers": ("server er ikke i ønsket tilstand", "servere er ikke i ønsket tilstand"),
    "run_failed": "siste kjøring av serverne feilet",
    "run_old": "serverne er ikke kontrollert den siste uken",
    "run_none": "ingen kjøring av serverne er registrert",
    "backups": (
        "sikkerhetskopi er ikke tatt siste døgn",
        "sikkerhetskopier er ikke tatt siste døgn",
    ),
    "backup_none": "ingen sikkerhetskopier er registrert",
    "backup_failed": "siste kontroll av sikkerhetskopiene feilet",
    "restore_failed": "siste gjenopprettingstest feilet",
    "restore_old": "gjenoppretting er ikke testet den siste måneden",
    "restore_none": "gjenoppretting er aldri testet",
}
_EN = {
    "servers": ("server is not in the wanted state", "servers are not in the wanted state"),
    "run_failed": "the last run on the servers failed",
    "run_old": "the servers have not been checked in the last week",
    "run_none": "no run on the servers is recorded",
    "backups": ("backup was not taken in the last day", "backups were not taken in the last day"),
    "backup_none": "no backups are recorded",
    "backup_failed": "the last check of the backups failed",
    "restore_failed": "the last restore test failed",
    "restore_old": "restore has not been tested in the last month",
    "restore_none": "restore has never been tested",
}


def _reasons(
    converge: health.Section, backups: health.Section, restore: health.Section, lang: str
) -> list[str]:
    w = _NB if lang == "nb" else _EN
    out: list[str] = []
    if converge.record is None:
        out.append(str(w["run_none"]))
    elif converge.state != health.OK:
        bad = sum(h.state != health.OK for h in converge.hosts)
        if bad:
            one, many = w["servers"]
            out.append(plural(bad, one, many))
        elif converge.age in (recordschema.AGING, recordschema.EXPIRED):
            out.append(str(w["run_old"]))
        else:
            out.append(str(w["run_failed"]))
    if backups.record is None:
        out.append(str(w["backup_none"]))
    elif backups.state != health.OK:
        bad = sum(h.state != health.OK for h in backups.hosts)
        if bad:
            one, many = w["backups"]
            out.append(plural(bad, one, many))
        else:
            out.append(str(w["backup_failed"]))
    if restore.record is None:
        out.append(str(w["restore_none"]))
    elif restore.state != health.OK:
        aged = restore.age in (recordschema.AGING, recordschema.EXPIRED)
        out.append(
            str(w["restore_old"] if aged and restore.record.record.ok else w["restore_failed"])
        )
    return out


def line(
    state: str,
    converge: health.Section,
    backups: health.Section,
    restore: health.Section,
    lang: str = "nb",
) -> str:
    """ "Alt i orden", or "Trenger oppfølging: 1 server er ikke i ønsket tilstand; …"."""
    t = LABELS[lang]
    if all(s.record is None for s in (converge, backups, restore)):
        return t["unknown"]
    reasons = _reasons(converge, backups, restore, lang)
    if state == health.OK:
        # Green by what is known; what is not known is still said, not hidden.
        return f"{t['ok_but']} {', '.join(reasons)}" if reasons else t["all_ok"]
    head = t["needs_follow_up"] if state == health.BAD else t["should_follow_up"]
    return f"{head}: {'; '.join(reasons)}" if reasons else head
