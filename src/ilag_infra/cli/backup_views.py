"""Tables for `ilag backup` and `ilag restore`: how backup results look to a person."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from rich.table import Table

from ilag_infra.model.shown import shown

if TYPE_CHECKING:
    from ilag_infra.onsite import backup, escrow, prune, snapshots


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def snapshot_table(rows: list[snapshots.HostSnapshots], title: str) -> Table:
    t = Table(title=title)
    for col in ("Host", "Snapshot", "Time (UTC)", "Paths", "Added", "Tags"):
        t.add_column(col, justify="right" if col == "Added" else "left")
    for r in rows:
        for s in r.snapshots:
            t.add_row(
                shown(r.host.name),
                shown(s.short_id),
                s.time.astimezone(UTC).isoformat(timespec="seconds"),
                shown(", ".join(s.paths)),
                human_bytes(s.size_added),
                shown(", ".join(s.tags)),
            )
    return t


def prune_table(m: prune.MunicipalityPrune) -> Table:
    verb = "pruned" if m.applied else "would prune"
    t = Table(title=f"{shown(m.slug)}: {verb} by {shown(m.rules.describe())}")
    for col in ("Repository", "Keep", "Remove", "Freed", "Check", "Note"):
        t.add_column(col)
    for r in m.repos:
        t.add_row(
            shown(r.name),
            str(len(r.keep)),
            str(len(r.remove)),
            human_bytes(r.freed) if m.applied else "-",
            "-"
            if r.check_ok is None
            else ("[green]ok[/]" if r.check_ok else "[bold red]FAILED[/]"),
            shown(r.error or (f"waited {r.lock_waits}× for a lock" if r.lock_waits else "")),
        )
    return t


def table(rows: list[backup.BackupStatus], title: str) -> Table:
    t = Table(title=title)
    for col in ("Municipality", "Host", "State", "Last success", "Age", "Snapshot", "Verdict"):
        t.add_column(col)
    for s in rows:
        age = s.age
        t.add_row(
            shown(s.host.municipality),
            shown(s.host.name),
            shown(s.state),
            s.last_success.isoformat(timespec="seconds") if s.last_success else "never",
            f"{age.total_seconds() / 3600:.1f} h" if age else "-",
            shown((s.snapshot_id or "-")[:12]),
            "[green]fresh[/]"
            if s.fresh
            else f"[bold red]{s.verdict.upper()}[/] {shown(s.error or '')}".strip(),
        )
    return t


def escrow_line(check: escrow.EscrowCheck) -> str:
    """The municipality's escrow verdict: green when ok, a red FAIL with the fix otherwise."""
    text = shown(check.summary())
    return f"[green]{text}[/]" if check.ok else f"[bold red]{text}[/]"


def snapshots_json(rows: list[snapshots.HostSnapshots]) -> list[dict[str, Any]]:
    return [
        {
            "host": r.host.name,
            "municipality": r.host.municipality,
            "error": r.error,
            "snapshots": [s.to_dict() for s in r.snapshots],
        }
        for r in rows
    ]


def ls_table(host: str, snap: snapshots.Snapshot, nodes: list[snapshots.Node], path: str) -> Table:
    t = Table(
        title=f"{shown(host)}: snapshot {shown(snap.short_id)} "
        f"({snap.time.isoformat(timespec='seconds')}), {shown(path)}"
    )
    for col in ("Permissions", "Owner", "Size", "Modified", "Path"):
        t.add_column(col, justify="right" if col == "Size" else "left")
    for n in nodes:
        t.add_row(
            shown(n.permissions),
            f"{n.uid}:{n.gid}",
            human_bytes(n.size) if n.type == "file" else "",
            n.mtime.isoformat(timespec="seconds"),
            shown(n.path),
        )
    return t
