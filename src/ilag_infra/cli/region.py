"""`ilag validate` and `ilag region`: check and show the region."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ilag_infra.cli.console import make_console
from ilag_infra.model import region, topology
from ilag_infra.model.validate import validate

# Wide enough for the address plan even when output goes to a file or a CI log.
console = make_console()

RegionOption = Annotated[
    Path,
    typer.Option(
        "--region",
        "-r",
        help="Path to region.yaml; inventories/ is read beside it.",
        envvar="ILAG_REGION",
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(region_file: RegionOption = Path(region.DEFAULT_REGION_FILE)) -> None:
        """Check region.yaml and every municipality's inventory against it.

        Rejects unknown keys, duplicate slugs or kommunenummer, bad or overlapping prefixes,
        private VPN endpoints, hosts outside their municipality's networks, duplicate host
        names or addresses, and missing or unknown inventories. Exit 2 names file, line, key
        and fix for each problem.
        """
        report = validate(region_file)
        m = report.region.model
        console.print(
            f"[green]ok[/] {region_file}: {len(m.municipalities)} municipalities, "
            f"{report.site_count} sites, "
            f"{report.host_count} hosts in {len(report.inventories)} inventories"
        )

    @app.command("region")
    def region_cmd(
        region_file: RegionOption = Path(region.DEFAULT_REGION_FILE),
        mermaid: Annotated[
            bool,
            typer.Option(
                "--mermaid", help="Print a Mermaid diagram (paste into Markdown inside ```mermaid)."
            ),
        ] = False,
    ) -> None:
        """Show the municipalities, address plan and cost split as a table (or a diagram)."""
        loaded = region.load(region_file)
        if mermaid:
            typer.echo(topology.mermaid(loaded.model), nl=False)
        else:
            console.print(topology.table(loaded.model))
