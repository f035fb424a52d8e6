"""`ilag lab up | down | status`: a thin shell over ilag_infra.lab."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import RegionOption
from ilag_infra.lab.net import DEFAULT_LAB_PREFIX
from ilag_infra.lab.paths import STATE_DIR_ENV, lab_paths
from ilag_infra.model.shown import shown

HOSTS_HELP = (
    "Lab hosts per municipality. They take the inventory's host names in order; beyond "
    "those, names like andoy-lab01 are made up."
)
PREFIX_HELP = (
    "Private IPv4 range for the lab (a /16 to /22). Municipality N gets its Nth /24; the last "
    "/24 holds the service address. Refused if this machine already routes any of it."
)


def _progress(message: str) -> None:
    # Plain lines, flushed: progress must show in CI logs and when piped, not only on a tty.
    print(message, flush=True)


def register(app: typer.Typer) -> None:
    lab = typer.Typer(
        name="lab",
        help=(
            "The local lab: real Debian 12 hosts and an Azure Blob emulator on this machine.\n\n"
            "Each municipality gets its own bridge and /24; its lab hosts take the names of its "
            "inventory hosts and boot with systemd-nspawn from a cached debootstrap root. "
            "Azurite stands in for the backup storage account. Nothing in the lab is routed "
            "or NATed anywhere: lab hosts reach only their own bridge and the lab's service "
            "address.\n\n"
            "With the default --lab-prefix, the Nth municipality of region.yaml is "
            "10.250.N.0/24: this machine is .1, its hosts .11, .12, …, and Azurite listens "
            "on http://10.250.255.1:10000.\n\n"
            "Log in to a lab host with the lab's key and pinned host keys, e.g.:\n\n"
            "  ssh -i /var/lib/ilag-lab/keys/operator_ed25519 \\\n"
            "    -o UserKnownHostsFile=/var/lib/ilag-lab/known_hosts/andoy \\\n"
            "    -o StrictHostKeyChecking=yes root@10.250.5.11\n\n"
            f"Needs root. State lives in /var/lib/ilag-lab (env {STATE_DIR_ENV} moves it; one "
            "lab per machine); the base root is cached in /var/cache/ilag-lab.\n\n"
            "Examples:\n  sudo ilag lab up\n  sudo ilag lab status\n  sudo ilag lab down"
        ),
        no_args_is_help=True,
    )

    @lab.command("up")
    def up_cmd(
        region_file: RegionOption = None,
        hosts_per_municipality: Annotated[
            int, typer.Option("--hosts-per-municipality", "-n", help=HOSTS_HELP)
        ] = 2,
        lab_prefix: Annotated[
            str, typer.Option("--lab-prefix", help=PREFIX_HELP)
        ] = DEFAULT_LAB_PREFIX,
    ) -> None:
        """Build and boot the lab, or keep it if it is already up and healthy.

        First run: debootstraps a Debian 12 base root (a minute or more, cached afterwards).
        Then: one bridge per municipality, Azurite with one container and SAS URL per
        municipality, the hosts booted in parallel until each answers SSH. Writes, in the
        state dir: outputs.json (stack outputs for `ilag apply`, 0600: holds SAS URLs and
        restic passwords), inventory/<slug>.yml and known_hosts/<slug>. A lab left by a
        killed run is removed first.

        Examples:
          sudo ilag lab up
          sudo ilag lab up -n 1 && sudo ilag apply andoy
        """
        ctx = Context("lab", region_path=region_file)
        from ilag_infra.lab import lifecycle

        lifecycle.up(ctx.region, ctx.root, hosts_per_municipality, lab_prefix, progress=_progress)
        paths = lab_paths()
        ctx.console.print(
            f"[green]lab up[/]: outputs {shown(paths.outputs_file)}, inventories {shown(paths.inventory)}/, "
            f"pinned keys {shown(paths.known_hosts)}/, operator key {shown(paths.operator_key)}",
            highlight=False,
        )

    @lab.command("down")
    def down_cmd(
        purge: Annotated[
            bool,
            typer.Option(
                "--purge",
                help="Also delete the lab's operator key, SSH user CA and restic passwords.",
            ),
        ] = False,
    ) -> None:
        """Power off every lab host and remove the lab, then prove nothing is left.

        Stops hosts cleanly (SIGKILL only after a timeout), unmounts their roots, stops Azurite,
        deletes the lab's bridges, service interface and route, and its generated files.
        Exit 1 names anything that is still there (process, mount, interface). Safe to run
        at any time, also after a crash or a killed `lab up`.

        Examples:
          sudo ilag lab down
          sudo ilag lab down --purge
        """
        from ilag_infra.lab import lifecycle

        lifecycle.down(purge=purge, progress=_progress)

    @lab.command("status")
    def status_cmd() -> None:
        """Show each lab host: running, answering SSH. Exit 1 if the lab is partly broken.

        A cut municipality (see ilag_infra.lab.cut) shows as broken until reconnected.
        With no lab, exit 0, unless leftovers of one are found (then exit 1: run
        `ilag lab down`).

        Examples:
          sudo ilag lab status
        """
        console = Context("lab").console
        from ilag_infra.lab import lifecycle

        report = lifecycle.status()
        if not report.recorded:
            if report.problems:
                for p in report.problems:
                    console.print(f"[red]{shown(p)}[/]", highlight=False)
                console.print("no lab is recorded, but parts of one remain: run `ilag lab down`")
                raise typer.Exit(1)
            console.print("no lab is up (start one with `ilag lab up`)")
            return
        table = Table(title="ilag lab")
        for column in ("host", "municipality", "ip", "state", "ssh"):
            table.add_column(column)
        for h in report.hosts:
            table.add_row(
                shown(h.name),
                shown(h.slug),
                shown(h.ip),
                "[green]up[/]" if h.running else "[red]down[/]",
                "[green]ok[/]" if h.ssh else "[red]no[/]",
            )
        console.print(table)
        console.print(
            f"Azurite: {'[green]running[/]' if report.azurite else '[red]not running[/]'}"
        )
        if report.problems:
            for p in report.problems:
                console.print(f"[red]problem:[/] {shown(p)}", highlight=False)
            sys.stdout.flush()
            raise typer.Exit(1)

    app.add_typer(lab)
