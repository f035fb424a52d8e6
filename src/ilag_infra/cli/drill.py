"""`ilag drill`: the disaster-recovery drill on the lab, with measured RTO and RPO."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import AllOption, EnvOption, JsonOption, Municipalities
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.shown import shown

if TYPE_CHECKING:
    from ilag_infra.lab.drill import DrillResult, RegionDrill


def register(app: typer.Typer) -> None:
    @app.command("drill")
    def drill_cmd(
        municipalities: Municipalities = None,
        all_: AllOption = False,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """Destroy municipalities' lab hosts, rebuild them from code and backup, verify every
        file, and report RTO and RPO (JSON record and Markdown report under runs/).

        Several municipalities (or --all) are lost at the same moment, as in a region-wide
        ransomware attack, and recovered together, restores running as far in parallel as the
        machine allows. The region's RTO runs from that moment to the last verified host;
        its record and report go to runs/region-drills/. --json prints the region's result
        with every municipality's under "municipalities".

        Lab only: in production it refuses; test restores there with `ilag restore --verify-only`.

        Examples:
          sudo ilag drill bo
          sudo ilag drill --all
        """
        ctx = Context(env, json=as_json)
        target, console = ctx.target, ctx.console
        # lab.drill refuses anything but the lab before it touches a host.
        from ilag_infra.lab import drill, drill_report

        loaded = ctx.region
        slugs = ctx.slugs(municipalities, all_)
        result = drill.drill_region(
            loaded.model,
            target,
            slugs,
            (lambda m: None) if as_json else (lambda m: console.print(shown(m))),
        )
        if len(slugs) == 1:
            drill_report.write_reports(target.repo_root, result.municipalities[0], target.env)
        else:
            drill_report.write_region_reports(target.repo_root, result, target.env)
        if as_json:
            print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            for m in result.municipalities:
                console.print(drill_table(m))
                console.print(f"record: {shown(m.record)}\nreport: {shown(m.report)}")
            if len(slugs) > 1:
                console.print(region_summary(result))
        if not result.ok:
            raise typer.Exit(EXIT_FAILED)


def region_summary(result: RegionDrill) -> str:
    from ilag_infra.lab.drill_report import fmt_seconds

    verdict = "[green]passed[/]" if result.ok else "[bold red]FAILED[/]"
    rpo = ", ".join(f"{m.slug} {fmt_seconds(m.rpo_seconds)}" for m in result.municipalities)
    return (
        f"Region drill {verdict}: {len(result.municipalities)} municipalities, "
        f"{sum(len(m.hosts) for m in result.municipalities)} hosts, "
        f"{result.workers} restores at once\n"
        f"  RTO {fmt_seconds(result.rto_seconds)} (disaster to the last verified host)\n"
        f"  RPO {rpo}\n"
        f"  verified {result.bytes_verified / 1e6:.1f} MB, lost {result.bytes_lost} bytes\n"
        f"record: {shown(result.record)}\nreport: {shown(result.report)}"
    )


def drill_table(result: DrillResult) -> Table:
    from ilag_infra.lab.drill_report import fmt_seconds

    verdict = "[green]passed[/]" if result.ok else "[bold red]FAILED[/]"
    t = Table(
        title=f"Drill {shown(result.slug)}: {verdict}; RTO {fmt_seconds(result.rto_seconds)}, "
        f"RPO {fmt_seconds(result.rpo_seconds)}; steps "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result.steps.items())
    )
    for col in (
        "Host",
        "Files",
        "Snapshot",
        "RPO",
        "Restore",
        "Verify",
        "RTO",
        "Key refused",
        "Ok",
    ):
        t.add_column(col)
    for h in result.hosts:
        t.add_row(
            shown(h.name),
            str(h.files),
            shown(h.snapshot or "-"),
            fmt_seconds(h.rpo_seconds),
            f"{h.steps.get('restore', 0):.1f} s",
            f"{h.steps.get('verify', 0):.1f} s",
            fmt_seconds(h.rto_seconds),
            "yes" if h.refused_unconfirmed_key else "[bold red]NO[/]",
            "[green]yes[/]"
            if h.ok
            else f"[bold red]NO[/] {shown(h.error or '; '.join(h.differences[:3]))}",
        )
    return t
