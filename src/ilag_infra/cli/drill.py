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
    from ilag_infra.lab.drill import DrillResult


def register(app: typer.Typer) -> None:
    @app.command("drill")
    def drill_cmd(
        municipalities: Municipalities = None,
        all_: AllOption = False,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """Destroy a municipality's lab hosts, rebuild them from code and backup, verify every
        file, and report RTO and RPO (JSON record and Markdown report under runs/).

        Lab only: in production it refuses; test restores there with `ilag restore --verify-only`.

        Examples:
          sudo ilag drill bo
        """
        ctx = Context(env, json=as_json)
        target, console = ctx.target, ctx.console
        # lab.drill refuses anything but the lab before it touches a host.
        from ilag_infra.lab import drill

        loaded = ctx.region
        slugs = ctx.slugs(municipalities, all_)
        results = []
        for slug in slugs:
            result = drill.drill(
                loaded.model,
                target,
                slug,
                (lambda m: None) if as_json else (lambda m: console.print(shown(m))),
            )
            drill.write_reports(target.repo_root, result, target.env)
            results.append(result)
            if not as_json:
                console.print(drill_table(result))
                console.print(f"record: {shown(result.record)}\nreport: {shown(result.report)}")
        if as_json:
            print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
        if not all(r.ok for r in results):
            raise typer.Exit(EXIT_FAILED)


def drill_table(result: DrillResult) -> Table:
    from ilag_infra.lab.drill import fmt_seconds

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
