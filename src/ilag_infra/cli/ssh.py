"""`ilag preflight` and `ilag bootstrap`: reach hosts safely before anything is applied."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import AllOption, EnvOption, JsonOption, Municipalities
from ilag_infra.cli.views import preflight_json, preflight_table, warning_line
from ilag_infra.model.errors import EXIT_FAILED, Problem
from ilag_infra.model.shown import shown

FINGERPRINT_HELP = (
    "The SHA256 fingerprint you read on the server's console "
    "(`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`); without it you are asked to confirm."
)


def region_expiry(ctx: Context, now: datetime | None = None) -> list[Problem]:
    """What the stack files say runs out or gets old soon; in the lab also the lab's CA key,
    a file whose date is its age."""
    from ilag_infra.model import expiry

    when = now or datetime.now(UTC)
    found = expiry.warnings(ctx.root, when)
    if ctx.env == "lab":
        from ilag_infra.lab import lab_paths

        ca = lab_paths().user_ca_key
        fix = f"remove {ca} and {ca}.pub, then `ilag lab up` makes a new lab CA"
        due = expiry.ca_file(ca, ctx.root, when, fix) if ca.is_file() else None
        if due is not None:
            found.append(due.problem())
    return found


def register(app: typer.Typer) -> None:
    @app.command("preflight")
    def preflight_cmd(
        municipalities: Municipalities = None,
        all_: AllOption = False,
        limit: Annotated[
            str | None, typer.Option("--limit", "-l", help="Ansible host pattern.")
        ] = None,
        min_free_mib: Annotated[int, typer.Option(help="Least free space on / in MiB.")] = 1024,
        max_skew: Annotated[float, typer.Option(help="Largest clock difference in seconds.")] = 2.0,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """Connect to every host (in parallel) and check it is ready for a run.

        The host key must match the municipality's pinned known_hosts: there is no trust on
        first use, and a changed key is refused loudly. Then python3, passwordless sudo, free
        disk and clock skew are checked. Exit 1 if any host fails.

        It also warns, without failing, ilag:expiryWarningDays (default 60) before the site
        SAS or a node's SSH certificate runs out (read on each host of ilag_nodes) and before
        a trusted SSH user CA key gets old (in the lab: the lab CA file's date).

        Examples:
          ilag preflight andoy
          ilag preflight --all --env prod
        """
        from ilag_infra.model import expiry
        from ilag_infra.onsite import preflight

        ctx = Context(env, json=as_json)
        slugs = ctx.slugs(municipalities, all_)
        identity = expiry.stack_config(ctx.root, "identity")
        window = expiry.window(identity.get(expiry.DAYS_KEY))
        limits = preflight.Limits(min_free_mib, max_skew, window)
        checks = preflight.preflight(ctx.target, slugs, limit, limits)
        expiring = region_expiry(ctx)
        if as_json:
            typer.echo(json.dumps(preflight_json(checks, ctx.env, expiring), indent=2))
        else:
            ctx.console.print(preflight_table(checks, ctx.env))
            for c in checks:
                for p in c.problems:
                    ctx.console.print(f"[red]{shown(c.host.name)}[/]: {shown(p)}")
            for w in expiring + [w for c in checks for w in c.warnings]:
                ctx.console.print(warning_line(w), highlight=False)
        if not all(c.ok for c in checks):
            raise typer.Exit(EXIT_FAILED)

    @app.command("bootstrap")
    def bootstrap_cmd(
        host: Annotated[str, typer.Argument(help="Inventory name of the new server.")],
        fingerprint: Annotated[
            str | None, typer.Option("--fingerprint", help=FINGERPRINT_HELP)
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
        Next step: `ilag apply KOMMUNE --playbook bootstrap --limit HOST`.

        Examples:
          ilag bootstrap andoy-util01 --env prod
          ilag bootstrap andoy-util01 --env prod --fingerprint SHA256:...
        """
        from ilag_infra.onsite import bootstrap

        ctx = Context(env)
        out = ctx.console
        contact = bootstrap.first_contact(ctx.target, ctx.region.model.slugs, host, replace)
        d, kh = contact.decision, shown(contact.known_hosts)
        where = shown(f"{host} ({contact.host.address})")
        if d.verdict == "already-pinned":
            out.print(f"{where}: {shown(d.presented)} is already pinned in {kh}")
            return
        if d.verdict == "changed":
            out.print(
                f"[bold red]{where} presents {shown(d.presented)}, but a different key is pinned "
                f"({shown(d.pinned)}). Refusing.[/] Re-pin only after verifying a reinstall: --replace."
            )
            raise typer.Exit(EXIT_FAILED)
        out.print(f"{where} presents {shown(contact.key.get_name())} {shown(d.presented)}")
        if fingerprint is None:
            fingerprint = typer.prompt("Type the fingerprint shown on the server's console")
        if not bootstrap.fingerprint_confirmed(fingerprint, d.presented):
            out.print("[bold red]Fingerprints differ: not pinned.[/]")
            raise typer.Exit(EXIT_FAILED)
        bootstrap.pin(contact)
        out.print(f"[green]pinned[/] {shown(host)} in {kh}")
