"""`ilag systems` and `ilag recovery-plan`: the systems register against the evidence."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ilag_infra.cli.context import Context, env_name
from ilag_infra.cli.options import JsonOption, Municipalities, RegionOption
from ilag_infra.model.errors import InputError, Problem

if TYPE_CHECKING:
    from ilag_infra.report.systems import Matrix, Measure, SystemStatus
    from ilag_infra.report.systems_data import SystemsView

RunsOption = Annotated[
    Path | None,
    typer.Option("--runs", help="Directory of run records (default: runs/ or ILAG_RUNS_DIR)."),
]
EnvFilter = Annotated[
    str,
    typer.Option(
        "--env",
        envvar="ILAG_ENV",
        help="Whose records count (lab or prod); others are left out. Env: ILAG_ENV.",
    ),
]


def _view(ctx: Context, runs: Path | None, env: str, slugs: list[str]) -> SystemsView:
    from ilag_infra.onsite.runrecord import runs_dir
    from ilag_infra.report import records, systems_data

    env_name(env)  # the records of one environment only: a typo must not hide them all
    if runs is not None and not runs.is_dir():
        raise InputError(
            [
                Problem(
                    "(command line)",
                    "--runs",
                    f"{runs} is not a directory of run records",
                    "give the directory the commands write run records to, or leave --runs out",
                )
            ]
        )
    recs = records.load(runs or runs_dir(ctx.root), env)
    return systems_data.load(ctx.root, ctx.region_file, ctx.region, recs, slugs)


def _day(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else "-"


def _measure(m: Measure) -> str:
    from ilag_infra.report.health import duration

    target = duration(m.target)
    if m.measured is None:
        return f"- / {target}"
    return f"{duration(m.measured)} / {target} {'ok' if m.met else 'OVER'}"


def _table(rows: list[SystemStatus]) -> object:
    from rich.table import Table

    table = Table(title="Systems (measured / target)")
    for col in ("system", "kommune", "product", "hosts", "backed up", "last verified restore",
                "RTO", "RPO", "drill", "harmonised"):  # fmt: skip
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.system.id,
            r.slug,
            f"{r.placement.product} {r.placement.version}",
            ", ".join(r.placement.hosts) or r.placement.runs,
            r.backed_up,
            _day(r.restore_verified),
            _measure(r.rto) if r.placement.runs == "onsite" else "-",
            _measure(r.rpo) if r.placement.runs == "onsite" else "-",
            _day(r.drill_time),
            "yes" if r.harmonised else f"no (→ {r.system.harmonisation.product})",
        )
    return table


def _matrix_table(m: Matrix) -> object:
    from rich.table import Table

    table = Table(title="Harmonisation: sector × municipality")
    table.add_column("sector")
    for slug in m.slugs:
        table.add_column(slug)
    table.add_column("harmonised")
    for sector in m.sectors:
        cells = [" / ".join(m.cells.get((sector, slug), [])) or "-" for slug in m.slugs]
        table.add_row(sector, *cells, f"{m.sector_share[sector]:.0%}")
    region = "-" if m.region_share is None else f"{m.region_share:.0%}"
    table.add_row("region", *([""] * len(m.slugs)), region, style="bold")
    return table


def matrix_json(m: Matrix) -> dict[str, object]:
    return {
        "municipalities": m.slugs,
        "sectors": [
            {
                "sector": sector,
                "products": {slug: m.cells.get((sector, slug), []) for slug in m.slugs},
                "harmonised_share": round(m.sector_share[sector], 4),
            }
            for sector in m.sectors
        ],
        "region_harmonised_share": None if m.region_share is None else round(m.region_share, 4),
    }


def register(app: typer.Typer) -> None:
    @app.command("systems")
    def systems_cmd(
        municipalities: Municipalities = None,
        matrix: Annotated[
            bool,
            typer.Option(
                "--matrix",
                help="Sector × municipality with the product in each cell, and the "
                "harmonisation share per sector and for the region.",
            ),
        ] = False,
        as_json: JsonOption = False,
        runs: RunsOption = None,
        env: EnvFilter = "lab",
        region_file: RegionOption = None,
    ) -> None:
        """The systems register (systems.yaml) against the evidence: per system and
        municipality the product, hosts, whether its data is backed up (yes, partly, no; n/a
        for SaaS and Azure), the last verified restore, the last drill's RTO and RPO against
        the targets, and whether it runs the region's chosen product.

        Examples:
          ilag systems
          ilag systems bo --json
          ilag systems --matrix
        """
        ctx = Context(region_path=region_file, json=as_json)
        slugs = ctx.slugs(municipalities) if municipalities else []
        view = _view(ctx, runs, env, slugs)
        if matrix:
            if as_json:
                typer.echo(json.dumps(matrix_json(view.matrix), indent=2, ensure_ascii=False))
            else:
                ctx.console.print(_matrix_table(view.matrix))
            return
        if as_json:
            data = {
                "systems_file": str(view.register.path),
                "example": view.register.register.example,
                "environment": env,
                "systems": [r.to_json() for r in view.rows],
            }
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
            return
        if view.register.register.example:
            ctx.console.print(f"[yellow]{view.register.path} is an example register[/]")
        ctx.console.print(_table(view.rows))

    @app.command("recovery-plan")
    def recovery_plan_cmd(
        municipality: Annotated[str, typer.Argument(metavar="KOMMUNE", help="Slug, e.g. bo.")],
        out: Annotated[
            Path, typer.Option("--out", help="Directory for the HTML and PDF (created if missing).")
        ] = Path("build/recovery-plan"),
        pdf: Annotated[
            bool, typer.Option("--pdf/--no-pdf", help="Also print a PDF with headless Chromium.")
        ] = True,
        runs: RunsOption = None,
        env: EnvFilter = "lab",
        region_file: RegionOption = None,
    ) -> None:
        """Write the municipality's backup and recovery plan in bokmål (HTML and PDF): what is
        backed up, where, how often, how long and whether immutable; who may restore and how;
        the restore order by criticality; the last verified restore and drill against each
        target; the risk register; the open gaps and the contacts. Every figure comes from the
        code or a run record, with its date.

        Examples:
          ilag recovery-plan bo --out build/recovery-plan
          ilag recovery-plan bo --no-pdf
        """
        from ilag_infra.report import recovery_plan

        ctx = Context(region_path=region_file)
        slug = ctx.slugs([municipality])[0]
        view = _view(ctx, runs, env, [slug])
        plan = recovery_plan.build(ctx.root, ctx.region, view, slug)
        for path in recovery_plan.write(plan, out, pdf=pdf):
            ctx.console.print(f"[green]wrote[/] {path}", highlight=False)
