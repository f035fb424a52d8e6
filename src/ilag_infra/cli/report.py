"""`ilag report`: one static page for the council and the municipal IT leaders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ilag_infra.cli.console import make_console
from ilag_infra.cli.context import Context
from ilag_infra.cli.options import RegionOption
from ilag_infra.model.errors import EXIT_FAILED, IlagError, InputError, Problem
from ilag_infra.model.shown import shown

console = make_console()


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        out: Annotated[
            Path, typer.Option("--out", help="Directory for index.html (created if missing).")
        ] = Path("build/report"),
        lang: Annotated[str, typer.Option("--lang", help="nb (bokmål, default) or en.")] = "nb",
        costs: Annotated[
            list[Path] | None,
            typer.Option(
                "--costs",
                help="The month's costs: a JSON file from `ilag costs --format json`, or the "
                "export file(s) themselves. Repeat for several export parts.",
            ),
        ] = None,
        period: Annotated[
            str | None, typer.Option("--period", help="YYYY-MM, when --costs are exports.")
        ] = None,
        runs: Annotated[
            Path | None,
            typer.Option(
                "--runs",
                help="Directory of run records (default: the record store when "
                "ILAG_RECORDS_URL is set, else runs/ or ILAG_RUNS_DIR).",
            ),
        ] = None,
        env: Annotated[
            str,
            typer.Option(
                "--env",
                envvar="ILAG_ENV",
                help="The environment the page shows (lab or prod); records of any other "
                "environment are left out. Env: ILAG_ENV.",
            ),
        ] = "lab",
        with_plan: Annotated[
            bool,
            typer.Option("--plan/--no-plan", help="Run the offline plan for its open findings."),
        ] = True,
        pdf: Annotated[
            bool,
            typer.Option(
                "--pdf", help="Also print the overview to report.pdf (headless Chromium)."
            ),
        ] = False,
        region_file: RegionOption = None,
    ) -> None:
        """Write the council's page: index.html and one page per municipality (<slug>.html).

        Convergence, backups, restore tests, drills (RTO and RPO) and the month's cost per
        municipality, a picture of the region, the cost split and the plan's open findings
        (with what runs out or gets old within ilag:expiryWarningDays, rule "expiry");
        each municipality's page adds its last 12 months. Missing sources show as missing,
        never as zero. A lab page says so in a banner; a prod page never shows a lab record.

        Examples:
          ilag report
          ilag report --env prod --costs costs-2026-01.json --out build/report
          ilag report --env prod --pdf --out build/report
        """
        from ilag_infra.costs.split import Period
        from ilag_infra.onsite.runrecord import runs_dir
        from ilag_infra.report import costview, findings, page, records
        from ilag_infra.report.labels import LANGS

        problems = []
        if lang not in LANGS:
            problems.append(
                Problem("(command line)", "--lang", f"{lang!r} is not a page language",
                        f"use one of: {', '.join(LANGS)}")
            )  # fmt: skip
        if not env.strip():
            problems.append(
                Problem("(command line)", "--env", "is empty", "use --env lab or --env prod")
            )
        month = None
        if period is not None:
            try:
                month = Period.parse(period)
            except ValueError as exc:
                problems.append(
                    Problem("(command line)", "--period", str(exc), "write the month as YYYY-MM")
                )
        if runs is not None and not runs.is_dir():
            what = "is not a directory" if runs.exists() else "does not exist"
            problems.append(
                Problem(
                    "(command line)",
                    "--runs",
                    f"{runs} {what}; the page would show every source as missing",
                    "give the directory the commands write run records to (runs/), or leave "
                    "--runs out to use runs/ or ILAG_RUNS_DIR",
                )
            )
        if problems:
            raise InputError(problems)
        ctx = Context(region_path=region_file)
        root, loaded = ctx.root, ctx.region
        from ilag_infra.onsite.recordstore import STORE_ENV, store_url

        url = store_url()
        if runs is None and url is not None:
            # The region's page: every machine's records, not only this checkout's.
            console.print(f"reading records from the record store ({STORE_ENV})", highlight=False)
            recs = records.load_store(url, env.strip())
        else:
            recs = records.load(runs or runs_dir(root), env.strip())
        for reason in recs.rejected:
            # Not read, and not silently fine: the page counts them, this names each one.
            console.print(f"[yellow]record not read:[/] {reason}", highlight=False)
        view = costview.load(costs, loaded.model, month) if costs else None
        found = None
        if with_plan:
            try:
                found = findings.from_plan(loaded, root)
            except IlagError as exc:
                # The page still tells the rest; the plan's section then says it is missing.
                console.print(f"[yellow]plan not available:[/] {shown(exc)}", highlight=False)
        register = None
        if (root / "systems.yaml").is_file():
            from ilag_infra.report import systems_data

            try:
                register = systems_data.load(root, ctx.region_file, loaded, recs, [])
            except IlagError as exc:
                console.print(
                    f"[yellow]systems register not shown:[/] {shown(exc)}", highlight=False
                )
        from ilag_infra.model import expiry
        from ilag_infra.report import expiry_findings

        # The same warnings as `ilag validate` (the stack files), worded for the council.
        due = expiry_findings.findings(expiry.due(root), lang)
        data = page.build(loaded, recs, view, found, lang, systems=register, expiry=due)
        from ilag_infra.report.recovery_plan import PdfError

        try:
            target = page.write(data, out, pdf=pdf)
        except PdfError as exc:
            # The HTML pages are written; only the print failed.
            console.print(f"[red]report.pdf not written:[/] {shown(exc)}", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        console.print(f"[green]wrote[/] {shown(target)}", highlight=False)
        console.print(
            f"[green]wrote[/] {len(data.municipalities)} municipality pages beside it",
            highlight=False,
        )
        if pdf:
            console.print(f"[green]wrote[/] {shown(out / page.PDF_NAME)}", highlight=False)
