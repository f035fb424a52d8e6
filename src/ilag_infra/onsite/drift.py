"""The drift record of a check run: which host differs from the repository, and where.

`ilag apply --check` changes nothing, so every change it reports is drift: a file edited by
hand, a unit stopped, a package removed. The node's drift timer runs it daily; the record
names host and file so the region sees where, not only that.
"""

from __future__ import annotations

from pathlib import Path

from ilag_infra.onsite import jobrecord
from ilag_infra.onsite.runner import MunicipalityResult


def hosts(result: MunicipalityResult) -> list[dict[str, object]]:
    """Every host the run reached, with what differs (empty: in the wanted state)."""
    names = sorted(set(result.hosts) | set(result.changes))
    return [{"host": h, "items": list(result.changes.get(h, []))} for h in names]


def write(repo_root: Path, env: str, result: MunicipalityResult) -> Path:
    """Write the drift record. It is good only when the check ran on every host and found
    nothing: a check that failed cannot say there is no drift."""
    rows = hosts(result)
    drifted = [r for r in rows if r["items"]]
    return jobrecord.write(
        repo_root,
        "drift",
        result.slug,
        {
            "environment": env,
            "municipality": result.slug,
            "ok": result.succeeded and not drifted,
            "hosts": rows,
            "drifted_hosts": [r["host"] for r in drifted],
            "check_succeeded": result.succeeded,
        },
    )
