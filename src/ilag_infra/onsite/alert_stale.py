"""A check that stopped running sends no record, so nothing in a record can say so: this
looks at the age of each watched check's latest result in runs/, by the schema's windows.

Past its window a result is Obs, past twice its window Feil (as the report ages it); no
result at all is Obs, since a new node has not run its monthly restore test yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from ilag_infra.onsite import recordschema, recordstore
from ilag_infra.onsite.alert_problems import FEIL, OBS, STALE, Problem

# The checks a node's timers run.
WATCHED = ("drift", "backup", "restore", "audit")


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} timer" if hours < 72 else f"{hours / 24:.0f} dager"


def stale_problems(
    runs: Path,
    environment: str,
    municipality: str,
    kinds: Iterable[str] = WATCHED,
    now: datetime | None = None,
) -> list[Problem]:
    """One problem per watched kind whose latest result in `runs` is too old or missing."""
    now = now or datetime.now(UTC)
    latest: dict[str, datetime] = {}
    for stored in recordstore.list_local(runs, environment, [municipality]):
        rec = stored.record
        if rec is not None and (rec.kind not in latest or rec.time > latest[rec.kind]):
            latest[rec.kind] = rec.time
    found: list[Problem] = []
    for kind in kinds:
        when = latest.get(kind)
        state = recordschema.age_state(kind, when, now)
        if state == recordschema.FRESH:
            continue
        window = recordschema.FRESHNESS[kind].total_seconds()
        if when is None:
            detail, word = "ingen resultat funnet", OBS
        else:
            detail = (
                f"siste resultat {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC er "
                f"{_hours((now - when).total_seconds())} gammelt (grense {_hours(window)})"
            )
            word = FEIL if state == recordschema.EXPIRED else OBS
        found.append(Problem(environment, municipality, STALE, kind, detail, word))
    return found
