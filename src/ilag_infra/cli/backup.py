"""`ilag backup status|run|snapshots|ls|prune`."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ilag_infra.cli.apply import EnvOption, make_target
from ilag_infra.cli.console import make_console
from ilag_infra.model import region
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite import backup, hostlist, prune, snapshots

console = make_console()

Munis = Annotated[
    list[str] | None, typer.Argument(metavar="[MUNICIPALITY]...", help="Slugs, e.g. andoy.")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every municipality.")]
MaxAge = Annotated[
    float,
    typer.Option(
        "--max-age",
        help="Hours after which the last successful backup counts as stale (the timer runs daily).",
    ),
]


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


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
                r.host.name,
                s.short_id,
                s.time.astimezone(UTC).isoformat(timespec="seconds"),
                escape(", ".join(s.paths)),
                human_bytes(s.size_added),
                escape(", ".join(s.tags)),
            )
    return t


def prune_table(m: prune.MunicipalityPrune) -> Table:
    verb = "pruned" if m.applied else "would prune"
    t = Table(title=f"{m.slug}: {verb} by {m.rules.describe()}")
    for col in ("Repository", "Keep", "Remove", "Freed", "Check", "Note"):
        t.add_column(col)
    for r in m.repos:
        t.add_row(
            r.name,
            str(len(r.keep)),
            str(len(r.remove)),
            human_bytes(r.freed) if m.applied else "-",
            "-"
            if r.check_ok is None
            else ("[green]ok[/]" if r.check_ok else "[bold red]FAILED[/]"),
            escape(r.error or (f"waited {r.lock_waits}× for a lock" if r.lock_waits else "")),
        )
    return t


def table(rows: list[backup.BackupStatus], title: str) -> Table:
    t = Table(title=title)
    for col in ("Municipality", "Host", "State", "Last success", "Age", "Snapshot", "Verdict"):
        t.add_column(col)
    for s in rows:
        age = s.age
        t.add_row(
            s.host.municipality,
            s.host.name,
            s.state,
            s.last_success.isoformat(timespec="seconds") if s.last_success else "never",
            f"{age.total_seconds() / 3600:.1f} h" if age else "-",
            (s.snapshot_id or "-")[:12],
            "[green]fresh[/]"
            if s.fresh
            else f"[bold red]{s.verdict.upper()}[/] {escape(s.error or '')}".strip(),
        )
    return t


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Backups of the on-site servers (restic to Azure Blob).", no_args_is_help=True
    )
    app.add_typer(group, name="backup")

    def _run(
        munis: list[str] | None, all_: bool, env: str, max_age: float, now: bool, as_json: bool
    ) -> None:
        target = make_target(env, None, None)
        loaded = region.load(target.repo_root / "region.yaml")
        slugs = apply_mod.resolve_slugs(loaded.model, munis or [], all_)
        age = timedelta(hours=max_age)
        if now and not as_json:
            console.print(f"Starting {backup.SERVICE} on the backup clients of {', '.join(slugs)}…")
        rows = backup.run_now(target, slugs, age) if now else backup.status(target, slugs, age)
        kind = "backup-run" if now else "backup-status"
        records = backup.write_records(target.repo_root, target.env, kind, rows, age)
        stale = [s.host.name for s in rows if not s.fresh]
        if as_json:
            print(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
            if stale:
                raise typer.Exit(EXIT_FAILED)
            return
        console.print(table(rows, f"Backups ({target.env}), stale after {max_age:g} h"))
        if records:
            where = records[0].parent
            console.print(f"[dim]{len(records)} run record(s) in {escape(str(where))}[/]")
        if stale:
            console.print(f"[bold red]stale or failed: {', '.join(stale)}[/]")
            raise typer.Exit(EXIT_FAILED)

    @group.command("status")
    def status_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        max_age: MaxAge = 26.0,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Last backup of every backup client; exit 1 if any is stale, failed or missing."""
        _run(municipalities, all_, env, max_age, now=False, as_json=as_json)

    @group.command("run")
    def run_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        max_age: MaxAge = 26.0,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Run a backup now on every backup client (waits for it), then show the status."""
        _run(municipalities, all_, env, max_age, now=True, as_json=as_json)

    @group.command("snapshots")
    def snapshots_cmd(
        municipality: Annotated[str, typer.Argument(help="Slug, e.g. andoy.")],
        host: Annotated[str | None, typer.Argument(help="Only this host.")] = None,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Snapshots of each backup client, read on the host with its own credential."""
        target = make_target(env, None, None)
        loaded = region.load(target.repo_root / "region.yaml")
        slug = apply_mod.resolve_slugs(loaded.model, [municipality], False)[0]
        rows = snapshots.list_snapshots(target, slug, host)
        failed = [r for r in rows if r.error]
        if as_json:
            print(
                json.dumps(
                    [
                        {
                            "host": r.host.name,
                            "municipality": r.host.municipality,
                            "error": r.error,
                            "snapshots": [s.to_dict() for s in r.snapshots],
                        }
                        for r in rows
                    ],
                    indent=2,
                    ensure_ascii=False,
                )
            )
        else:
            console.print(snapshot_table(rows, f"Snapshots of {slug} ({target.env})"))
            for r in failed:
                console.print(f"[bold red]{r.host.name}:[/] {escape(r.error or '')}")
        if failed:
            raise typer.Exit(EXIT_FAILED)

    @group.command("ls")
    def ls_cmd(
        host: Annotated[str, typer.Argument(help="Inventory name of the host.")],
        snapshot: Annotated[
            str | None,
            typer.Argument(help="Snapshot id or time (default latest); or PATH directly."),
        ] = None,
        path: Annotated[str | None, typer.Argument(help="Folder or file (default /).")] = None,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Browse one snapshot of a host: the entries of PATH, like `ls -l`."""
        if snapshot is not None and snapshot.startswith("/") and path is None:
            snapshot, path = None, snapshot
        target = make_target(env, None, None)
        loaded = region.load(target.repo_root / "region.yaml")
        found = hostlist.find(target, loaded.model.slugs, host)
        snap, nodes = snapshots.ls(target, found, snapshot, path or "/")
        if as_json:
            print(
                json.dumps(
                    {"snapshot": snap.to_dict(), "nodes": [n.to_dict() for n in nodes]},
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        t = Table(
            title=f"{found.name}: snapshot {snap.short_id} "
            f"({snap.time.isoformat(timespec='seconds')}), {escape(path or '/')}"
        )
        for col in ("Permissions", "Owner", "Size", "Modified", "Path"):
            t.add_column(col, justify="right" if col == "Size" else "left")
        for n in nodes:
            t.add_row(
                n.permissions,
                f"{n.uid}:{n.gid}",
                human_bytes(n.size) if n.type == "file" else "",
                n.mtime.isoformat(timespec="seconds"),
                escape(n.path),
            )
        console.print(t)

    @group.command("prune")
    def prune_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        yes: Annotated[
            bool, typer.Option("--yes", "-y", help="Act; without it only shows what would go.")
        ] = False,
        limit_kib: Annotated[
            int | None,
            typer.Option("--limit-kib", min=1, help="Cap restic's transfer rate (KiB/s)."),
        ] = None,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Forget and prune snapshots by region.yaml's keep rules, with the operator's credential.

        Shows what would go; --yes forgets, prunes, runs `restic check` and reports the space
        freed. Never uses a site's SAS.
        """
        target = make_target(env, None, None)
        loaded = region.load(target.repo_root / "region.yaml")
        slugs = apply_mod.resolve_slugs(loaded.model, municipalities or [], all_)
        results = prune.prune(target, loaded.model, slugs, act=yes, limit_kib=limit_kib)
        if as_json:
            print(json.dumps([m.to_dict() for m in results], indent=2, ensure_ascii=False))
        else:
            for m in results:
                console.print(prune_table(m))
            if not yes:
                console.print("Nothing was removed; run again with --yes to prune.")
        if not all(m.ok for m in results):
            raise typer.Exit(EXIT_FAILED)
