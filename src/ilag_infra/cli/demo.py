"""`ilag demo`: the main job on the local lab, as `make demo` runs it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ilag_infra.cli.context import Context
from ilag_infra.cli.views import LivePrinter
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.secrets import redact_text
from ilag_infra.model.shown import shown

if TYPE_CHECKING:  # the demo brings in the lab and on-site runs
    from ilag_infra import demo


def drill_cell(r: demo.MunicipalityRow) -> str:
    """RTO / RPO of the municipality the demo drilled; '-' for the others."""
    from ilag_infra.lab.drill_report import fmt_seconds

    if r.drill_ok is None:
        return "-"
    figures = f"{fmt_seconds(r.drill_rto_seconds)} / {fmt_seconds(r.drill_rpo_seconds)}"
    return figures if r.drill_ok else f"[bold red]FAILED[/] {figures}"


def summary(report: demo.DemoReport) -> Table:
    t = Table(title="ILAG lab: one row per municipality")
    for col in (
        "Municipality",
        "Hosts",
        "Converged",
        "Changed on 2nd run",
        "Last backup",
        "Restore verified",
        "Drill RTO / RPO",
        "Result",
    ):
        t.add_column(col)
    for r in report.rows:
        changed = "-" if r.changed_second_run is None else str(r.changed_second_run)
        t.add_row(
            shown(f"{r.name} ({r.slug})"),
            str(r.hosts),
            f"{r.converged}/{r.hosts}",
            changed,
            shown(f"{r.last_backup} ({r.backups_fresh}/{r.backup_clients})"),
            f"{r.restore_verified}/{r.backup_clients}",
            drill_cell(r),
            "[green]ok[/]" if r.ok else "[bold red]FAILED[/]",
        )
    return t


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_cmd(
        hosts_per_municipality: Annotated[
            int,
            typer.Option(
                "--hosts-per-municipality", "-n", min=1, max=20, help="Lab hosts per municipality."
            ),
        ] = 2,
        mitogen: Annotated[
            bool,
            typer.Option(
                "--mitogen/--no-mitogen", help="Converge with the Mitogen strategy (faster)."
            ),
        ] = True,
        verbose: Annotated[
            bool,
            typer.Option("--verbose", "-v", help="Show every task, not only changes and failures."),
        ] = False,
    ) -> None:
        """Run the whole job on the local lab and print one row per municipality.

        Boots real Debian 12 hosts (systemd-nspawn) for every municipality and an Azure Blob
        emulator, validates, plans the Azure stacks offline, runs preflight, converges all
        municipalities twice (the second run must change nothing), backs up every host, and
        restores a canary to compare checksums, then runs the disaster-recovery drill on the
        smallest municipality and reports its RTO and RPO. The lab stays up afterwards for you to look
        at (`ilag lab status`, `ilag backup status --all`); `ilag lab down` removes it.
        Needs root. A second run reuses the cached base system and is faster.

        Examples:
          sudo ilag demo
          sudo ilag demo -n 1 --no-mitogen
        """
        from ilag_infra import demo

        ctx = Context("lab")
        console = ctx.console
        report = demo.run(
            ctx.root,
            ctx.region,
            lambda m: console.print(redact_text(m), markup=False),
            LivePrinter(console, verbose),
            hosts_per_municipality,
            mitogen,
        )
        console.print(summary(report))
        total = sum(s for _, s, _ in report.steps)
        console.print(
            f"{len(report.steps)} steps in {total:.0f} s. "
            "The lab is still up: `ilag lab status`, `ilag lab down`."
        )
        if not report.ok:
            failed = [n for n, _, ok in report.steps if not ok]
            console.print(f"[bold red]demo failed[/]{': ' + shown(failed[0]) if failed else ''}")
            raise typer.Exit(EXIT_FAILED)
