"""`ilag costs`: a month's Azure cost export as one invoice line per municipality."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ilag_infra.cli.console import make_console
from ilag_infra.cli.context import Context
from ilag_infra.cli.options import RegionOption
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.shown import shown

console = make_console()
err_console = make_console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command("costs")
    def costs_cmd(
        exports: Annotated[
            list[Path],
            typer.Argument(
                metavar="EXPORT",
                help="Cost Management export files of one month (FOCUS or EA/MCA actual cost; "
                "CSV or .csv.gz). Several files are the parts of one export.",
            ),
        ],
        period: Annotated[
            str | None,
            typer.Option(
                "--period",
                help="The month, YYYY-MM; every row must fall inside it. "
                "Default: the month of the earliest row.",
            ),
        ] = None,
        fmt: Annotated[
            str, typer.Option("--format", help="table | csv | json | markdown")
        ] = "table",
        basis: Annotated[
            str,
            typer.Option(
                "--basis",
                help="FOCUS only: billed (BilledCost, what the invoice says) or effective "
                "(EffectiveCost, reservations amortised).",
            ),
        ] = "billed",
        region_file: RegionOption = None,
    ) -> None:
        """Split a month's Azure bill into one invoice line per municipality.

        Direct costs go by the municipality tag, shared and untagged costs by the cost key in
        region.yaml. The lines add up to the export total to the øre. Exit 2 names file, row
        and column of every bad row.

        Examples:
          ilag costs export-2026-01.csv
          ilag costs part1.csv.gz part2.csv.gz --period 2026-01 --format markdown
        """
        from ilag_infra.costs import exports as exports_mod
        from ilag_infra.costs import render, split

        problems = []
        if fmt not in render.FORMATS:
            problems.append(
                Problem(
                    "(command line)",
                    "--format",
                    f"{fmt!r} is not one of the formats",
                    f"use one of: {', '.join(render.FORMATS)}",
                )
            )
        if basis not in ("billed", "effective"):
            problems.append(
                Problem(
                    "(command line)",
                    "--basis",
                    f"{basis!r} is not billed or effective",
                    "use --basis billed (the invoice) or --basis effective (amortised)",
                )
            )
        month = None
        if period is not None:
            try:
                month = split.Period.parse(period)
            except ValueError as exc:
                problems.append(
                    Problem("(command line)", "--period", str(exc), "write the month as YYYY-MM")
                )
        if problems:
            raise InputError(problems)
        loaded = Context(region_path=region_file).region
        data = exports_mod.read(exports, "billed" if basis == "billed" else "effective")
        result = split.split(data, loaded.model, month, basis)
        if fmt == "csv":
            typer.echo(render.csv_text(result), nl=False)
        elif fmt == "json":
            typer.echo(render.json_text(result), nl=False)
        elif fmt == "markdown":
            typer.echo(render.markdown(result), nl=False)
        else:
            console.print(render.table(result))
            for note in render.notes(result):
                console.print(shown(note), highlight=False, soft_wrap=True)
            return
        # Machine formats keep stdout clean; what a person must act on goes to stderr.
        if result.untagged:
            err_console.print(
                shown(
                    f"note: {len(result.untagged)} untagged resource(s), "
                    f"{render.human(result.untagged_total)} {result.currency}, charged as shared "
                    "(see 'untagged' in --format json, or the table)"
                ),
                highlight=False,
            )
