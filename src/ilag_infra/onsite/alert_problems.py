"""What in a run record is a problem worth an alert, one per host (or per run), in words.

A problem's key is stable across runs (environment, municipality, kind, host), so the same
fault seen again by the next timer is the same problem, and is not sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ilag_infra.model.secrets import redact_text
from ilag_infra.onsite import recordschema

# The kinds in plain bokmål, as the alert's headline names them.
KIND_WORDS = {
    "apply": "utrulling",
    "check": "kontroll",
    "drift": "drift",
    "backup": "sikkerhetskopi",
    "restore": "gjenopprettingstest",
    "drill": "beredskapsøvelse",
    "audit": "revisjon",
    "alert": "varsel",
    "prune": "opprydding",
}
# The kind of a problem that a check's latest result is too old (alert_stale.py); its host
# is the kind of check that is late.
STALE = "stale"
# The report's words: a new problem is Feil, one that has gone away Løst.
FEIL, LOST, OBS = "Feil", "Løst", "Obs"
# A whole-run problem (no one host to name) has this in place of the host.
WHOLE_RUN = "-"
_MAX_ITEMS = 10


@dataclass(frozen=True)
class Problem:
    """One open fault in one scope (environment, municipality, kind), on one host."""

    environment: str
    municipality: str
    kind: str
    host: str  # WHOLE_RUN for a problem of the run as a whole
    detail: str  # what is wrong, one line
    word: str = FEIL  # how the new problem is announced: Feil, or Obs for a warning

    @property
    def key(self) -> str:
        return "/".join((self.environment, self.municipality, self.kind, self.host))

    @property
    def title(self) -> str:
        """drift på bo-app01 (bo, lab)"""
        word = KIND_WORDS.get(self.kind, self.kind)
        where = f"({self.municipality}, {self.environment})"
        if self.kind == STALE:
            return f"utdatert resultat for {KIND_WORDS.get(self.host, self.host)} {where}"
        if self.host == WHOLE_RUN:
            return f"{word} feilet {where}"
        return f"{word} på {self.host} {where}"

    @property
    def text(self) -> str:
        """The one line a person reads: the title and what is wrong."""
        return f"{self.title}: {self.detail}"


def scope(record: dict[str, Any]) -> tuple[str, str, str]:
    return (str(record.get("environment")), str(record.get("municipality")), str(record["kind"]))


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_ITEMS])
    more = len(items) - _MAX_ITEMS
    return shown + (f" og {more} til" if more > 0 else "")


def _host_problems(rec: recordschema.Record) -> list[tuple[str, str]]:
    """(host, detail) per host at fault, for the kinds that name hosts."""
    found: list[tuple[str, str]] = []
    if isinstance(rec, recordschema.DriftRecord):
        for d in rec.hosts:
            if d.items:
                found.append((d.host, f"avvik fra ønsket tilstand: {_listed(d.items)}"))
    elif isinstance(rec, recordschema.CheckRecord):
        for name, h in sorted(rec.hosts.items()):
            if h.unreachable:
                found.append((name, "kunne ikke nås"))
            elif h.failed or h.changed:
                parts = [f"{h.changed} endring(er) ville blitt gjort"] if h.changed else []
                parts += [f"{h.failed} oppgave(r) feilet"] if h.failed else []
                found.append((name, ", ".join(parts)))
    elif isinstance(rec, recordschema.BackupRecord):
        for b in rec.hosts:
            if not b.fresh:
                last = b.last_success.isoformat(timespec="minutes") if b.last_success else "aldri"
                found.append(
                    (
                        b.host,
                        f"ikke fersk (tilstand {b.state}, siste vellykkede {last}, "
                        f"grense {rec.max_age_hours:g} timer)",
                    )
                )
    elif isinstance(rec, recordschema.AuditRecord):
        for a in rec.hosts:
            if not a.ok:
                found.append((a.host, f"{a.failed} krav ikke oppfylt" if a.failed else "ikke ok"))
    elif isinstance(rec, recordschema.RestoreRecord) and not rec.ok:
        found.append((rec.host, rec.error or "feilet"))
    return found


def problems(record: dict[str, Any]) -> list[Problem]:
    """The problems in a run record as the schema defines it (RecordError if it is not one).

    drift: each host with items; check: each host that would change, failed or was
    unreachable; backup: each host not fresh; audit: each host not ok; restore: its host when
    not ok. A run that failed with no host to blame, and any other kind that failed, is one
    problem for the run."""
    rec = recordschema.parse(record, f"{record.get('kind', '?')} record")
    if isinstance(rec, recordschema.AlertRecord):
        return []  # an alert about an alert would never end
    env, mun, kind = rec.environment, rec.municipality, rec.kind
    found = [
        Problem(env, mun, kind, host, redact_text(detail)) for host, detail in _host_problems(rec)
    ]
    if not found and not rec.ok:
        extra = rec.model_extra or {}
        why = getattr(rec, "error", None) or extra.get("error") or extra.get("reason")
        status = getattr(rec, "status", None)
        detail = str(why) if why else (f"status {status}" if status else "kjøringen feilet")
        found.append(Problem(env, mun, kind, WHOLE_RUN, redact_text(detail)))
    return sorted(found, key=lambda p: p.key)
