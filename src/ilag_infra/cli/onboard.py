"""`ilag onboard SLUG`: plan a municipality's joining, and with --apply write its files."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ilag_infra.cli.context import Context
from ilag_infra.cli.offboard import plain
from ilag_infra.cli.options import JsonOption, RegionOption
from ilag_infra.model.errors import InputError, Problem

if TYPE_CHECKING:
    from rich.console import Console

    from ilag_infra.model.onboard import OnboardPlan, Request


def plan_json(plan: OnboardPlan, applied: list[str] | None) -> dict[str, Any]:
    data: dict[str, Any] = plain(asdict(plan))
    data.pop("texts", None)  # the added text of each file is in files[].added
    data["applied"] = applied
    return data


def print_plan(console: Console, plan: OnboardPlan) -> None:
    from ilag_infra.model.offboard import percent

    def line(text: str = "", indent: int = 2) -> None:
        console.print(" " * indent + text, markup=False, highlight=False, soft_wrap=True)

    def head(text: str) -> None:
        console.print(f"\n[bold]{text}[/]", highlight=False)

    console.print(
        f"[bold]Onboarding {plan.name}[/] ({plan.slug}, kommunenummer {plan.kommunenummer})",
        highlight=False,
    )
    head("File changes")
    for f in plan.files:
        line(f"{f.action:<6} {f.path}: {f.detail}")
        for added in f.added.rstrip("\n").splitlines():
            line(f"+ {added}", 6)
    head("Azure resources")
    for r in plan.resources:
        line(f"{r.stack:<9} added  {r.type} {r.name}")
    head("Secrets and placeholders")
    for s in plan.secrets:
        line(f"{s.where}: {s.key}: {s.note}")
        line(s.command, 6)
    head("Cost key")
    for c in plan.shares:
        line(f"{c.name:<10} {percent(c.before):>8} -> {percent(c.after):>8}")
    head("Order")
    for n, step in enumerate(plan.steps, 1):
        line(f"{n}. {step}")
    head("Notes")
    for note in plan.notes:
        line(note)


def request_from(
    slug: str,
    name: str,
    kommunenummer: str,
    population: int,
    spoke_prefix: str | None,
    sites: list[str],
    hosts: list[str],
    technician_group: str | None,
) -> Request:
    """The command line as a Request; InputError names every option of the wrong shape."""
    from ilag_infra.model.onboard import Request
    from ilag_infra.model.onboard_spec import HostSpec, SiteSpec, parse_host, parse_site

    problems: list[Problem] = []
    site_specs: list[SiteSpec] = []
    host_specs: list[HostSpec] = []
    for text in sites:
        site = parse_site(text)
        if isinstance(site, Problem):
            problems.append(site)
        else:
            site_specs.append(site)
    for text in hosts:
        host = parse_host(text)
        if isinstance(host, Problem):
            problems.append(host)
        else:
            host_specs.append(host)
    if problems:
        raise InputError(problems)
    return Request(
        slug,
        name,
        kommunenummer,
        population,
        spoke_prefix,
        tuple(site_specs),
        tuple(host_specs),
        technician_group,
    )


def register(app: typer.Typer) -> None:
    @app.command("onboard")
    def onboard_cmd(
        slug: Annotated[
            str,
            typer.Argument(
                metavar="KOMMUNE",
                help="The new municipality's slug: lowercase ASCII, e.g. lodingen.",
            ),
        ],
        name: Annotated[
            str, typer.Option("--name", help="Its name as people write it, e.g. Lødingen.")
        ],
        kommunenummer: Annotated[
            str, typer.Option("--kommunenummer", help="Its 4-digit kommunenummer, e.g. 1851.")
        ],
        population: Annotated[
            int,
            typer.Option("--population", help="Population on 1 January (the cost key uses it)."),
        ],
        sites: Annotated[
            list[str],
            typer.Option(
                "--site",
                metavar="SITE",
                help="A site (shape above): its name, the public address or DNS name of its "
                "VPN endpoint, and its on-site networks. A network named `management` is "
                "marked management: true. Repeat per site.",
            ),
        ],
        hosts: Annotated[
            list[str],
            typer.Option(
                "--host",
                metavar="HOST",
                help="A server (shape above): its lowercase name, its "
                "address in one of the sites' networks, and its inventory groups (those the "
                "other inventories use: file_servers, backup_clients, ilag_nodes, …). Repeat "
                "per server.",
            ),
        ],
        spoke_prefix: Annotated[
            str | None,
            typer.Option(
                "--spoke-prefix",
                help="Its spoke VNet in Azure, e.g. 10.20.24.0/22. Without it: no spoke, only "
                "its VPN sites.",
            ),
        ] = None,
        technician_group: Annotated[
            str | None,
            typer.Option(
                "--technician-group",
                help="Object ID of its technicians' Entra ID group. Default: a zero-id "
                "placeholder that ends in the kommunenummer.",
            ),
        ] = None,
        apply: Annotated[
            bool,
            typer.Option(
                "--apply",
                help="Write the files: region.yaml, the new inventory, the stack files' "
                "comments. Without it nothing is changed.",
            ),
        ] = False,
        region_file: RegionOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Plan a new municipality's joining; with --apply, write its files.

        A site is --site NAME=VPN_ENDPOINT:NET=PREFIX[,NET=PREFIX…], a server is --host
        NAME=ADDRESS[:GROUP,GROUP…]; repeat them per site and per server.

        The plan shows each file it writes with the text it adds, the Azure resources each
        stack will declare, the secrets to set (its VPN key; its restic password in its
        ansible-vault file and, the same one, in the backup stack's escrow), every
        municipality's cost share before and after, and the order of the next steps. The new region.yaml is read
        by the region model and the whole result checked by `ilag validate` before anything is
        written; the files are then written together (each beside its target, then renamed).
        Exit 2, with no file changed: an option of the wrong shape, a slug that is taken or
        not lowercase ASCII, a kommunenummer that is taken or not 4 digits, a prefix that
        overlaps another network, a host outside its sites' networks, an unknown group, a
        group repeated in one --host or a network name repeated in one --site.

        Examples:
          ilag onboard lodingen --name Lødingen --kommunenummer 1851 \\
            --population 2066 --spoke-prefix 10.20.24.0/22 \\
            --site lodingen=198.51.100.51:servers=10.51.10.0/24 \\
            --host lodingen-fil01=10.51.10.10:file_servers,backup_clients,ilag_nodes
          ilag onboard lodingen --name Lødingen --kommunenummer 1851 \\
            --population 2066 --apply --json \\
            --site lodingen=vpn.lodingen.example.net:servers=10.51.10.0/24 \\
            --host lodingen-fil01=10.51.10.10:file_servers,backup_clients,ilag_nodes
        """
        from ilag_infra.model import onboard, onboard_apply

        request = request_from(
            slug, name, kommunenummer, population, spoke_prefix, sites, hosts, technician_group
        )
        ctx = Context(region_path=region_file, json=as_json)
        plan = onboard.plan(ctx.region, ctx.root, request)
        report = onboard_apply.check(plan, ctx.root, plan.files[0].path)
        if not as_json:
            print_plan(ctx.console, plan)
        applied = None
        if apply:
            applied = onboard_apply.write(plan, ctx.root)
            applied.append(
                f"ilag validate (of the result, before writing): ok, "
                f"{len(report.region.model.municipalities)} municipalities, "
                f"{report.host_count} hosts"
            )
        if as_json:
            typer.echo(json.dumps(plan_json(plan, applied), indent=2, ensure_ascii=False))
            return
        if applied is None:
            ctx.console.print(
                "\n`ilag validate` passes on the result. Nothing was changed. Run with --apply "
                "to write the files.",
                highlight=False,
            )
            return
        ctx.console.print("\n[bold]Applied[/]", highlight=False)
        for done in applied:
            ctx.console.print(f"  {done}", markup=False, highlight=False)
        ctx.console.print(
            "Next: `ilag validate`, `ilag diff` to review, commit, then the steps of the "
            "Order above.",
            highlight=False,
        )
