"""`ilag access`: who can do what to each municipality's backups, from the planned stacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ilag_infra.cli.console import spinner
from ilag_infra.cli.context import Context
from ilag_infra.cli.options import JsonOption
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.shown import shown

SUFFIX_HELP = "Stack name suffix, e.g. test plans network-test, identity-test, backup-test."
MARK = {True: "[red]yes[/]", False: "[green]no[/]"}


def register(app: typer.Typer) -> None:
    @app.command("access")
    def access_cmd(
        as_json: JsonOption = False,
        suffix: Annotated[str | None, typer.Option("--stack-suffix", help=SUFFIX_HELP)] = None,
        region_file: Annotated[
            Path | None,
            typer.Option("--region", "-r", help="Use this region.yaml.", envvar="ILAG_REGION"),
        ] = None,
    ) -> None:
        """Who can read, write, delete or unprotect each municipality's backups.

        Plans the three stacks offline, then computes each identity's effective permissions
        from the planned role assignments, custom roles and conditions, Azure's built-in role
        definitions, Shared Key access, locks, WORM and the vault's settings. Compares the
        result with policy/access.yaml. Exit 1 if they differ (each difference names the
        identity, the capability, the role or setting that grants it and the documentation),
        2 on bad input. The threat model: docs/security.md.

        Examples:
          ilag access
          ilag access --json > access.json
        """
        from ilag_infra.azure import plan
        from ilag_infra.azure.access import outcome

        ctx = Context(region_path=region_file, json=as_json)
        loaded = ctx.region if region_file else None
        stacks = [f"{s}-{suffix}" if suffix else s for s in plan.STACK_ORDER]
        with spinner("Planning the stacks and computing access…"):
            results = plan.run_many(stacks, loaded, root=None if region_file else ctx.root)
            out = outcome.evaluate(results, ctx.region.model, ctx.root)
        if as_json:
            rows = [c.to_dict() for c in out.cells + out.reach]
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            render(ctx, out)
        if not out.ok:
            raise typer.Exit(EXIT_FAILED)


def render(ctx: Context, out: object) -> None:
    from ilag_infra.azure.access.matrix import CAPABILITIES
    from ilag_infra.azure.access.outcome import Outcome

    assert isinstance(out, Outcome)
    slugs = sorted({c.municipality for c in out.cells})
    table = Table(title="Access to the backups and site secrets (yes: can, per municipality)")
    table.add_column("identity")
    for cap in CAPABILITIES:
        table.add_column(cap)
    rows: dict[str, dict[str, list[str]]] = {}
    for c in out.cells:
        if c.allowed:
            rows.setdefault(c.identity, {}).setdefault(c.capability, []).append(c.municipality)
        else:
            rows.setdefault(c.identity, {}).setdefault(c.capability, [])
    for ident, caps in rows.items():
        cells = []
        for cap in CAPABILITIES:
            got = caps.get(cap, [])
            if not got:
                cells.append(MARK[False])
            elif len(got) == len(slugs):
                cells.append(MARK[True] + " all")
            else:
                cells.append(MARK[True] + " " + shown(", ".join(got)))
        table.add_row(shown(ident), *cells)
    ctx.console.print(table)
    if out.reach:
        ctx.console.print(_reach_table(out))
    for cell in out.gaps:
        ctx.console.print(
            f"[yellow]gap[/] {shown(cell.identity)} {shown(cell.capability)} "
            f"({shown(cell.municipality)}): {shown(cell.why)}",
            highlight=False,
            soft_wrap=True,
        )
    for diff in out.differences:
        ctx.console.print(f"[red]DIFF[/] {shown(diff.message)}", highlight=False, soft_wrap=True)
    verdict = "matches" if out.ok else f"differs in {len(out.differences)} cell(s) from"
    ctx.console.print(
        f"The planned access {verdict} {shown(out.intended_path)}. "
        f"Roles: {shown(out.roles_source)}."
    )


def _reach_table(out: object) -> Table:
    """Per site: the destinations it reaches, and which of them are not its own."""
    from ilag_infra.azure.access.outcome import Outcome

    assert isinstance(out, Outcome)
    table = Table(title="Network reach from each site (computed from the planned NSGs)")
    table.add_column("site")
    table.add_column("reaches")
    table.add_column("not reached")
    sites: dict[str, tuple[list[str], list[str]]] = {}
    for c in out.reach:
        yes, no = sites.setdefault(c.identity, ([], []))
        (yes if c.allowed else no).append(c.capability.removeprefix("reach:"))
    for site, (yes, no) in sites.items():
        table.add_row(shown(site), shown(", ".join(yes)), shown(", ".join(no)))
    return table
