"""The drill's records and reports: one per municipality (its page reads it) and, when several
were lost together, one for the region with its RTO from the disaster to the last verified host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ilag_infra.onsite import jobrecord, runrecord

if TYPE_CHECKING:
    from ilag_infra.lab.drill import DrillResult, RegionDrill

REGION_DIR = "region-drills"


def markdown(result: DrillResult) -> str:
    """A report a municipality can attach to its risk and vulnerability analysis (ROS)."""
    lines = [
        f"# Gjenopprettingsøvelse / disaster-recovery drill: {result.slug}",
        "",
        f"- Disaster simulated at: {result.disaster_at.isoformat(timespec='seconds')}",
        f"- Result: {'**passed**, every file restored and verified' if result.ok else '**FAILED**'}",
        f"- RTO (destruction to verified data): **{fmt_seconds(result.rto_seconds)}**",
        f"- RPO (age of the newest snapshot at the disaster): **{fmt_seconds(result.rpo_seconds)}**",
        "",
        "Measured on the lab (Debian 12 containers, Azurite as Azure Blob). Production RPO is",
        "bounded by the nightly backup (up to about 24 h plus the timer's random delay);",
        "production RTO adds hardware or VM provisioning and the transfer from Azure.",
        "",
        "| Step | Seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.1f} |" for k, v in result.steps.items()],
        "",
        "| Host | Files | Bytes | Snapshot | RPO | Restore s | Verify s | RTO | Unconfirmed key refused | Verified |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for h in result.hosts:
        lines.append(
            f"| {h.name} | {h.files} | {h.bytes} | {h.snapshot} | {fmt_seconds(h.rpo_seconds)} | "
            f"{h.steps.get('restore', 0):.1f} | {h.steps.get('verify', 0):.1f} | "
            f"{fmt_seconds(h.rto_seconds)} | {'yes' if h.refused_unconfirmed_key else 'NO'} | "
            f"{'yes' if h.ok else 'NO'} |"
        )
    problems = [
        f"- {h.name}: {p}"
        for h in result.hosts
        for p in ([h.error] if h.error else []) + h.differences
    ]
    if problems:
        lines += ["", "## Problems", "", *problems[:100]]
    return "\n".join(lines) + "\n"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def write_reports(repo_root: Path, result: DrillResult, env: str) -> None:
    result.record = jobrecord.write(
        repo_root, "drill", result.slug, {"environment": env, **result.to_dict()}
    )
    result.report = result.record.with_suffix(".md")
    result.report.write_text(markdown(result), encoding="utf-8")


def write_region_reports(repo_root: Path, result: RegionDrill, env: str) -> None:
    """Each municipality's record (tagged with the region run) and the region's own record and
    report under runs/region-drills/ (the store files records per municipality only)."""
    run_id = runrecord.new_run_id()
    for m in result.municipalities:
        m.record = jobrecord.write(
            repo_root,
            "drill",
            m.slug,
            {
                "environment": env,
                **m.to_dict(),
                "region_drill": run_id,
                "region_municipalities": [x.slug for x in result.municipalities],
                "region_rto_seconds": result.to_dict()["rto_seconds"],
            },
        )
        m.report = m.record.with_suffix(".md")
        m.report.write_text(markdown(m), encoding="utf-8")
    out = runrecord.runs_dir(repo_root) / REGION_DIR
    out.mkdir(parents=True, exist_ok=True)
    result.record = out / f"{run_id}.json"
    body = {"run_id": run_id, "environment": env, **result.to_dict()}
    result.record.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding="utf-8")
    result.report = result.record.with_suffix(".md")
    result.report.write_text(region_markdown(result), encoding="utf-8")


def region_markdown(result: RegionDrill) -> str:
    """The region's drill: every municipality lost at one moment, and how long until the last
    verified host."""
    slugs = ", ".join(m.slug for m in result.municipalities)
    lines = [
        "# Gjenopprettingsøvelse for regionen / region-wide disaster-recovery drill",
        "",
        f"- Municipalities lost at the same moment: {slugs}",
        f"- Disaster simulated at: {result.disaster_at.isoformat(timespec='seconds')}",
        f"- Result: {'**passed**, every file restored and verified' if result.ok else '**FAILED**'}",
        f"- Region RTO (destruction to the last verified host): "
        f"**{fmt_seconds(result.rto_seconds)}**",
        f"- Bytes verified: {result.bytes_verified}; bytes not recovered: {result.bytes_lost}",
        f"- Restores at once: {result.workers}",
        "",
        "Measured on the lab: every host on one machine, Azurite as Azure Blob. In production",
        "the municipalities' hardware or VMs come back in parallel, and each restore reads from",
        "Azure over its own site's line, so the region's RTO there is bounded by the slowest",
        "municipality's provisioning and transfer, not by this machine's cores.",
        "",
        "| Step | Seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.1f} |" for k, v in result.steps.items()],
        "",
        "| Municipality | Hosts | RTO | RPO | Bytes | Verified |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for m in result.municipalities:
        lines.append(
            f"| {m.slug} | {len(m.hosts)} | {fmt_seconds(m.rto_seconds)} | "
            f"{fmt_seconds(m.rpo_seconds)} | {sum(h.bytes for h in m.hosts)} | "
            f"{'yes' if m.ok else 'NO'} |"
        )
    problems = [
        f"- {h.name}: {p}"
        for m in result.municipalities
        for h in m.hosts
        for p in ([h.error] if h.error else []) + h.differences
    ]
    if problems:
        lines += ["", "## Problems", "", *problems[:100]]
    return "\n".join(lines) + "\n"
