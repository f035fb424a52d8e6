"""`ilag backup status` and `ilag backup run`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ilag_infra.cli.apply import EnvOption, make_target
from ilag_infra.cli.console import make_console
from ilag_infra.model import region
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite import backup

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
            "[green]fresh[/]" if s.fresh else f"[bold red]STALE[/] {escape(s.error or '')}".strip(),
        )
    return t


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Backups of the on-site servers (restic to Azure Blob).", no_args_is_help=True
    )
    app.add_typer(group, name="backup")

    def _run(munis: list[str] | None, all_: bool, env: str, max_age: float, now: bool) -> None:
        target = make_target(env, None, None)
        loaded = region.load(target.repo_root / "region.yaml")
        slugs = apply_mod.resolve_slugs(loaded.model, munis or [], all_)
        age = timedelta(hours=max_age)
        if now:
            console.print(f"Starting {backup.SERVICE} on the backup clients of {', '.join(slugs)}…")
            rows = backup.run_now(target, slugs, age)
        else:
            rows = backup.status(target, slugs, age)
        console.print(table(rows, f"Backups ({target.env}), stale after {max_age:g} h"))
        stale = [s.host.name for s in rows if not s.fresh]
        if stale:
            console.print(f"[bold red]stale or failed: {', '.join(stale)}[/]")
            raise typer.Exit(EXIT_FAILED)

    @group.command("status")
    def status_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        max_age: MaxAge = 26.0,
        env: EnvOption = "lab",
    ) -> None:
        """Last backup of every backup client; exit 1 if any is stale, failed or missing."""
        _run(municipalities, all_, env, max_age, now=False)

    @group.command("run")
    def run_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        max_age: MaxAge = 26.0,
        env: EnvOption = "lab",
    ) -> None:
        """Run a backup now on every backup client (waits for it), then show the status."""
        _run(municipalities, all_, env, max_age, now=True)
