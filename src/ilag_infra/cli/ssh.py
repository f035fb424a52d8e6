"""`ilag preflight` and `ilag bootstrap`: reach hosts safely before anything is applied."""

from __future__ import annotations

from typing import Annotated

import paramiko
import typer
from rich.markup import escape
from rich.table import Table

from ilag_infra.cli.apply import EnvOption, make_target
from ilag_infra.cli.console import make_console
from ilag_infra.model import region
from ilag_infra.model.errors import EXIT_FAILED, IlagError
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite import hostlist, preflight, ssh

console = make_console()


def register(app: typer.Typer) -> None:
    @app.command("preflight")
    def preflight_cmd(
        municipalities: Annotated[
            list[str] | None, typer.Argument(metavar="[MUNICIPALITY]...", help="Slugs, e.g. andoy.")
        ] = None,
        all_: Annotated[bool, typer.Option("--all", help="Every municipality.")] = False,
        limit: Annotated[
            str | None, typer.Option("--limit", "-l", help="Ansible host pattern.")
        ] = None,
        min_free_mib: Annotated[int, typer.Option(help="Least free space on / in MiB.")] = 1024,
        max_skew: Annotated[float, typer.Option(help="Largest clock difference in seconds.")] = 2.0,
        env: EnvOption = "lab",
    ) -> None:
        """Connect to every host (in parallel) and check it is ready for a run.

        The host key must match the municipality's pinned known_hosts: there is no trust on
        first use, and a changed key is refused loudly. Then python3, passwordless sudo, free
        disk and clock skew are checked. Exit 1 if any host fails.
        """
        target = make_target(env, None, None)
        loaded = region.load(target.repo_root / "region.yaml")
        slugs = apply_mod.resolve_slugs(loaded.model, municipalities or [], all_)
        checks = preflight.preflight(target, slugs, limit, preflight.Limits(min_free_mib, max_skew))
        t = Table(title=f"Preflight ({target.env})")
        for col in (
            "Municipality",
            "Host",
            "Address",
            "Host key",
            "python3",
            "sudo",
            "Free /",
            "Clock skew",
            "Status",
        ):
            t.add_column(col)
        for c in checks:
            t.add_row(
                c.host.municipality,
                c.host.name,
                c.host.address,
                c.host_key if c.host_key != "MISMATCH" else "[bold red]MISMATCH[/]",
                c.python3,
                c.sudo,
                f"{c.free_mib} MiB" if c.free_mib is not None else "-",
                f"{c.skew_s:+.2f} s" if c.skew_s is not None else "-",
                "[green]ready[/]" if c.ok else "[bold red]NOT READY[/]",
            )
        console.print(t)
        bad = [c for c in checks if not c.ok]
        for c in bad:
            for p in c.problems:
                console.print(f"[red]{c.host.name}[/]: {escape(p)}")
        if bad:
            raise typer.Exit(EXIT_FAILED)

    @app.command("bootstrap")
    def bootstrap_cmd(
        host: Annotated[str, typer.Argument(help="Inventory name of the new server.")],
        fingerprint: Annotated[
            str | None,
            typer.Option(
                "--fingerprint",
                help="The SHA256 fingerprint you read on the server's console "
                "(`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`); "
                "without it you are asked to confirm.",
            ),
        ] = None,
        replace: Annotated[
            bool,
            typer.Option("--replace", help="Replace a pinned key (after a verified reinstall)."),
        ] = False,
        env: EnvOption = "lab",
    ) -> None:
        """First contact with a server: show its host key fingerprint, confirm it, pin it.

        Pins into the municipality's known_hosts; from then on preflight and apply trust only
        that key. Compare the fingerprint with the server's console before confirming.
        Next step: `ilag apply MUNICIPALITY --playbook bootstrap --limit HOST`.
        """
        target = make_target(env, None, None)
        loaded = region.load(target.repo_root / "region.yaml")
        h = hostlist.find(target, loaded.model.slugs, host)
        kh = target.known_hosts(h.municipality)
        try:
            key = ssh.fetch_host_key(h.address, h.port)
        except (OSError, paramiko.SSHException) as exc:
            raise IlagError(
                f"cannot reach {host} at {h.address}:{h.port} to read its host key: "
                f"{exc or type(exc).__name__}"
            ) from None
        fp = ssh.fingerprint(key)
        pinned = ssh.pinned_keys(kh, h)
        if any(p.asbytes() == key.asbytes() for p in pinned):
            console.print(f"{host} ({h.address}): {fp} is already pinned in {kh}")
            return
        if pinned and not replace:
            console.print(
                f"[bold red]{host} ({h.address}) presents {fp}, but a different key "
                f"is pinned ({ssh.fingerprint(pinned[0])}). Refusing.[/] Re-pin only "
                "after verifying a reinstall: --replace."
            )
            raise typer.Exit(EXIT_FAILED)
        console.print(f"{host} ({h.address}) presents {key.get_name()} {fp}")
        if fingerprint is None:
            answer = typer.prompt("Type the fingerprint shown on the server's console to confirm")
            fingerprint = answer.strip()
        if fingerprint != fp:
            console.print("[bold red]Fingerprints differ: not pinned.[/]")
            raise typer.Exit(EXIT_FAILED)
        ssh.pin(kh, h, key, replace=replace)
        console.print(f"[green]pinned[/] {host} in {kh}")
