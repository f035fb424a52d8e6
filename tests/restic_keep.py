"""restic 0.14's keep rules (`forget --keep-*`), written out so a test can derive what a prune
must keep from the snapshot times alone, on any date.

It follows restic's `ApplyPolicy` (internal/restic/snapshot_policy.go): snapshots newest first;
each rule has a count and the bucket of the last snapshot it kept (day, ISO week, month, year,
in the snapshot's own time zone). A snapshot is kept when some rule with a count left sees a new
bucket; that rule then spends one of its count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from ilag_infra.model.retention import Retention


def _buckets() -> list[tuple[str, Callable[[datetime, int], object]]]:
    return [
        ("last", lambda t, nr: nr),
        ("hourly", lambda t, nr: (t.year, t.month, t.day, t.hour)),
        ("daily", lambda t, nr: (t.year, t.month, t.day)),
        ("weekly", lambda t, nr: t.isocalendar()[:2]),
        ("monthly", lambda t, nr: (t.year, t.month)),
        ("yearly", lambda t, nr: t.year),
    ]


def kept(times: Sequence[datetime], rules: Retention) -> list[datetime]:
    """The times restic keeps under these rules, newest first."""
    newest_first = sorted(times, reverse=True)
    counts = {name: getattr(rules, name) or 0 for name, _ in _buckets()}
    last: dict[str, object] = {}
    out: list[datetime] = []
    for nr, t in enumerate(newest_first):
        keep = False
        for name, bucket in _buckets():
            if counts[name] > 0:
                value = bucket(t, nr)
                if last.get(name, object()) != value:
                    keep = True
                    last[name] = value
                    counts[name] -= 1
        if keep:
            out.append(t)
    return out


# Days back from "now" for the prune test's older snapshots: two and one year back, across a
# year end, around the last two months, and the last fortnight. Never 0, so today stays the
# real backup's own day.
DAYS_BACK = (760, 550, 370, 80, 62, 48, 13, 12)


def fake_times(now: datetime) -> list[datetime]:
    """The prune test's older snapshots, at 10:00 on days counted back from now."""
    day = now.replace(hour=10, minute=0, second=0, microsecond=0)
    return [day - timedelta(days=d) for d in DAYS_BACK]
