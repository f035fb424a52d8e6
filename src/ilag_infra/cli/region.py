"""`ilag validate` and `ilag region`: check and show the region."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import EnvOption, JsonOption, RegionOption
from ilag_infra.model.errors import InputError

if TYPE_CHECKING:  # the region model is loaded by the commands that read it
    from ilag_infra.model.validate import ValidationReport


def validation_json(ctx: Context, report: ValidationReport | None, err: InputError | None) -> Any:
    """`ilag validate --json`: counts when valid, every problem when not."""
    data: dict[str, Any] = {"ok": err is None, "region_file": str(ctx.region_file)}
    if report is not None:
        data |= {
            "municipalities": len(report.region.model.municipalities),
            "sites": report.site_count,
            "hosts": report.host_count,
            "inventories": {s: len(i.hosts) for s, i in sorted(report.inventories.items())},
            "placeholders": len(report.placeholders),
            "placeholder_problems": [asdict(p) for p in report.placeholders],
            "expiry_warnings": [asdict(p) for p in report.expiring],
        }
    data["problems"] = [asdict(p) for p in err.problems] if err else []
    return data


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate_cmd(
        region_file: RegionOption = None, as_json: JsonOption = False, env: EnvOption = "lab"
    ) -> None:
        """Check region.yaml and every municipality's inventory against it.

        Rejects unknown keys, duplicate slugs or kommunenummer, bad or overlapping prefixes,
        private VPN endpoints, hosts outside their municipality's networks, duplicate host
        names or addresses, and missing or unknown inventories. Exit 2 names file, line, key
        and fix for each problem (with --json, also as JSON on stdout). It counts the shipped
        placeholders left in region.yaml and the production stack files (documentation
        addresses, .example/.invalid/.test names, zero object ids, the placeholder SSH CA key);
        with --env prod they are refused. It warns when the site SAS run out or a trusted SSH
        user CA key gets old (ilag:sshUserCaCreated, ilag:sshUserCaMaxAgeDays) within
        ilag:expiryWarningDays (default 60) of today, and refuses those settings when bad.

        Examples:
          ilag validate
          ilag validate --env prod --json
        """
        from ilag_infra.model.validate import validate

        ctx = Context(env=env, region_path=region_file, json=as_json)
        try:
            report = validate(
                ctx.region_file, ctx.region, production=ctx.env == "prod", stacks_root=ctx.root
            )
        except InputError as err:
            if as_json:
                typer.echo(json.dumps(validation_json(ctx, None, err), indent=2))
            raise
        if as_json:
            typer.echo(json.dumps(validation_json(ctx, report, None), indent=2))
            return
        m = report.region.model
        ctx.console.print(
            f"[green]ok[/] {ctx.region_file}: {len(m.municipalities)} municipalities, "
            f"{report.site_count} sites, "
            f"{report.host_count} hosts in {len(report.inventories)} inventories"
        )
        if report.placeholders:
            files = sorted({p.file for p in report.placeholders})
            ctx.console.print(
                f"[yellow]{len(report.placeholders)} placeholder(s) remain[/] in "
                f"{escape(', '.join(files))}: fine for the lab, but production refuses them. "
                "`ilag validate --env prod` lists each one with its fix."
            )
        for p in report.expiring:
            ctx.console.print(
                f"[yellow]warning[/] {escape(p.file)}:{p.line or ''} {escape(p.key)}: "
                f"{escape(p.message)}\n    fix: {escape(p.fix)}",
                highlight=False,
            )

    @app.command("region")
    def region_cmd(
        region_file: RegionOption = None,
        mermaid: Annotated[
            bool,
            typer.Option(
                "--mermaid", help="Print a Mermaid diagram (paste into Markdown inside ```mermaid)."
            ),
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Show the municipalities, address plan and cost split as a table (or a diagram).

        Examples:
          ilag region
          ilag region --mermaid > region.md
        """
        from ilag_infra.model import cost, topology

        ctx = Context(region_path=region_file, json=as_json)
        model = ctx.region.model
        if as_json:
            data = {
                "region_file": str(ctx.region_file),
                "region": model.model_dump(mode="json"),
                "cost_shares": cost.shares(model),
            }
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        elif mermaid:
            typer.echo(topology.mermaid(model), nl=False)
        else:
            ctx.console.print(topology.table(model))
