"""The audit's run records: one per municipality, each host's verdict and failed controls."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ilag_infra.model.secrets import redact_text
from ilag_infra.onsite import jobrecord
from ilag_infra.onsite.audit import HostAudit


def write_records(
    repo_root: Path, env: str, slugs: Sequence[str], results: Sequence[HostAudit]
) -> list[Path]:
    """One audit record per municipality, so the region sees each host's verdict and which
    controls failed (by id and title, never the evidence, which may quote a file)."""
    written = []
    for slug in slugs:
        rows = [r for r in results if r.host.municipality == slug]
        hosts = [
            {
                "host": r.host.name,
                "ok": r.ok,
                "failed": sum(f.verdict == "fail" for f in r.findings),
                "failed_controls": [
                    f"{f.control.id} {f.control.title}" for f in r.findings if f.verdict == "fail"
                ],
                "error": redact_text(r.error) if r.error else None,
            }
            for r in rows
        ]
        fields = {
            "environment": env,
            "municipality": slug,
            "ok": bool(rows) and all(r.ok for r in rows),
            "hosts": hosts,
        }
        written.append(jobrecord.write(repo_root, "audit", slug, fields))
    return written
