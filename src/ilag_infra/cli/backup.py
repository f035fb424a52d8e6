"""`ilag backup status|run|snapshots|ls|prune`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Literal

import typer

from ilag_infra.cli import alerting
from ilag_infra.cli.backup_views import (
    escrow_line,
    ls_table,
    prune_table,
    snapshot_table,
    snapshots_json,
    table,
)
from ilag_infra.cli.context import Context
from ilag_infra.cli.options import AllOption as AllOpt
from ilag_infra.cli.options import EnvOption
from ilag_infra.cli.options import JsonOption as JsonOpt
from ilag_infra.cli.options import Municipalities as Munis
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.shown import shown

MaxAge = Annotated[
    float,
    typer.Option(
        "--max-age",
        help="Hours after which the last successful backup counts as stale (the timer runs daily).",
    ),
]


EscrowOpt = Annotated[
    bool | None,
    typer.Option(
        "--escrow/--no-escrow",
        help="Also open each repository with the municipality's escrowed restic password; "
        "exit 1 when it does not open or is missing. Default: on in the lab (a file in the "
        "lab's state), off in prod, where reading Key Vault is not built yet (`--escrow` "
        "there fails and says how to check by hand).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help=(
            "Backups of the on-site servers (restic to Azure Blob).\n\n"
            "Examples:\n  ilag backup status --all\n  ilag backup ls andoy-fil01"
        ),
        no_args_is_help=True,
    )
    app.add_typer(group, name="backup")
    register_revoke(group)

    def _run(
        munis: list[str] | None,
        all_: bool,
        env: str,
        max_age: float,
        now: bool,
        as_json: bool,
        check_escrow: bool | None = False,
    ) -> None:
        from ilag_infra.onsite import backup, escrow

        ctx = Context(env, json=as_json)
        target, console = ctx.target, ctx.console
        slugs = ctx.slugs(munis, all_)
        age = timedelta(hours=max_age)
        alert_settings = alerting.settings()
        if now and not as_json:
            console.print(
                f"Starting {backup.SERVICE} on the backup clients of {shown(', '.join(slugs))}…"
            )
        checks: list[escrow.EscrowCheck] = []
        if check_escrow is None:
            # On where a source is built; in prod a default that always fails would train
            # people to ignore the command, so it says what was not checked instead.
            check_escrow = target.env == "lab"
            if not check_escrow and not now:
                console.print(
                    "[yellow]note:[/] the restic password escrow was not checked: reading it "
                    "from Key Vault is not built yet; check it by hand as docs/backup.md "
                    "'Password escrow' shows",
                    highlight=False,
                )
        if now:
            rows = backup.run_now(target, slugs, age)
        elif check_escrow:
            source = escrow.source_for(target)
            passwords, unavailable = escrow.read_all(source, slugs)
            rows = backup.status(target, slugs, age, passwords)
            checks = backup.escrow_checks(slugs, source, rows, unavailable)
        else:
            rows = backup.status(target, slugs, age)
        action: Literal["status", "run"] = "run" if now else "status"
        records = backup.write_records(target.repo_root, target.env, action, rows, age, checks)
        stale = [s.host.name for s in rows if not s.fresh]
        bad_escrow = [c for c in checks if not c.ok]
        alerted = alerting.after_check(ctx.root, records, alert_settings, console)
        if as_json:
            print(json.dumps([r.to_dict() for r in rows], indent=2, ensure_ascii=False))
            if stale or bad_escrow or not alerted:
                raise typer.Exit(EXIT_FAILED)
            return
        console.print(table(rows, f"Backups ({target.env}), stale after {max_age:g} h"))
        for c in checks:
            console.print(escrow_line(c))
        if records:
            where = records[0].parent
            console.print(f"[dim]{len(records)} run record(s) in {shown(str(where))}[/]")
        if stale:
            console.print(f"[bold red]stale or failed: {shown(', '.join(stale))}[/]")
            raise typer.Exit(EXIT_FAILED)
        if bad_escrow or not alerted:
            raise typer.Exit(EXIT_FAILED)

    @group.command("status")
    def status_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        max_age: MaxAge = 26.0,
        escrow_: EscrowOpt = None,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Last backup of every backup client, and (lab; prod with --escrow) whether the
        municipality's escrowed restic password opens each client's repository; exit 1 if a
        backup is stale, failed or missing, or the escrow is missing or does not open a
        repository.

        Examples:
          ilag backup status --all
          ilag backup status andoy --max-age 48
          ilag backup status andoy --env prod
        """
        _run(municipalities, all_, env, max_age, now=False, as_json=as_json, check_escrow=escrow_)

    @group.command("run")
    def run_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        max_age: MaxAge = 26.0,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Run a backup now on every backup client (waits for it), then show the status.

        Examples:
          ilag backup run andoy
        """
        _run(municipalities, all_, env, max_age, now=True, as_json=as_json)

    @group.command("snapshots")
    def snapshots_cmd(
        municipality: Annotated[str, typer.Argument(help="Slug, e.g. andoy.")],
        host: Annotated[str | None, typer.Argument(help="Only this host.")] = None,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Snapshots of each backup client, read on the host with its own credential.

        Examples:
          ilag backup snapshots andoy
          ilag backup snapshots andoy andoy-fil01 --json
        """
        from ilag_infra.onsite import snapshots

        ctx = Context(env, json=as_json)
        target, console = ctx.target, ctx.console
        slug = ctx.slugs([municipality])[0]
        rows = snapshots.list_snapshots(target, slug, host)
        failed = [r for r in rows if r.error]
        if as_json:
            print(json.dumps(snapshots_json(rows), indent=2, ensure_ascii=False))
        else:
            console.print(snapshot_table(rows, f"Snapshots of {shown(slug)} ({target.env})"))
            for r in failed:
                console.print(f"[bold red]{r.host.name}:[/] {shown(r.error or '')}")
        if failed:
            raise typer.Exit(EXIT_FAILED)

    @group.command("ls")
    def ls_cmd(
        host: Annotated[str, typer.Argument(help="Inventory name of the host.")],
        snapshot: Annotated[
            str | None,
            typer.Argument(help="Snapshot id or time (default latest); or PATH directly."),
        ] = None,
        path: Annotated[str | None, typer.Argument(help="Folder or file (default /).")] = None,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Browse one snapshot of a host: the entries of PATH, like `ls -l`.

        Examples:
          ilag backup ls andoy-fil01
          ilag backup ls andoy-fil01 latest /srv/share
        """
        from ilag_infra.onsite import hostlist, snapshots

        if snapshot is not None and snapshot.startswith("/") and path is None:
            snapshot, path = None, snapshot
        ctx = Context(env, json=as_json)
        target, console = ctx.target, ctx.console
        found = hostlist.find(target, ctx.region.model.slugs, host)
        snap, nodes = snapshots.ls(target, found, snapshot, path or "/")
        if as_json:
            print(
                json.dumps(
                    {"snapshot": snap.to_dict(), "nodes": [n.to_dict() for n in nodes]},
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        console.print(ls_table(found.name, snap, nodes, path or "/"))

    @group.command("prune")
    def prune_cmd(
        municipalities: Munis = None,
        all_: AllOpt = False,
        yes: Annotated[
            bool, typer.Option("--yes", "-y", help="Act; without it only shows what would go.")
        ] = False,
        limit_kib: Annotated[
            int | None,
            typer.Option("--limit-kib", min=1, help="Cap restic's transfer rate (KiB/s)."),
        ] = None,
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Forget and prune snapshots by region.yaml's keep rules, with the operator's credential.

        Shows what would go; --yes forgets, prunes, runs `restic check` and reports the space
        freed. Never uses a site's SAS.

        Examples:
          ilag backup prune --all
          ilag backup prune andoy --yes
        """
        from ilag_infra.onsite import prune

        ctx = Context(env, json=as_json)
        target, console = ctx.target, ctx.console
        slugs = ctx.slugs(municipalities, all_)
        results = prune.prune(target, ctx.region.model, slugs, act=yes, limit_kib=limit_kib)
        if as_json:
            print(json.dumps([m.to_dict() for m in results], indent=2, ensure_ascii=False))
        else:
            for m in results:
                console.print(prune_table(m))
            if not yes:
                console.print("Nothing was removed; run again with --yes to prune.")
        if not all(m.ok for m in results):
            raise typer.Exit(EXIT_FAILED)


def register_revoke(group: typer.Typer) -> None:
    @group.command("revoke")
    def revoke_cmd(
        municipality: Annotated[str, typer.Argument(metavar="KOMMUNE", help="A slug, e.g. andoy.")],
        as_json: JsonOpt = False,
        env: EnvOption = "lab",
    ) -> None:
        """Revoke one municipality's site backup credential; the others keep working.

        The site SAS is bound to a stored access policy on the municipality's own container.
        This replaces the policy, so the old SAS gets 403 at once, and writes a new SAS to
        the outputs; the next `ilag apply KOMMUNE` hands it to the servers. Lab only
        for now: production is described in docs/security.md (exit 2 there).

        Examples:
          sudo ilag backup revoke andoy && sudo ilag apply andoy
        """
        from ilag_infra.model.errors import InputError, Problem

        ctx = Context(env, json=as_json)
        target = ctx.target
        slug = ctx.slugs([municipality])[0]
        if target.env != "lab":
            raise InputError(
                [
                    Problem(
                        "--env",
                        "prod",
                        "per-site revocation in production is not built yet: stored access "
                        "policies are data plane only, and no stack or role sets them",
                        "see docs/security.md, 'Revoking one site' for today's procedure",
                    )
                ]
            )
        from ilag_infra.lab import revoke
        from ilag_infra.onsite.targets import lab_dir

        done = revoke.revoke(target.outputs_file or lab_dir() / "outputs.json", slug)
        if as_json:
            print(json.dumps(done.to_dict(), indent=2, ensure_ascii=False))
            return
        ctx.console.print(
            f"Revoked {shown(slug)}'s site credential (policy {shown(str(done.old_policy))} "
            f"of {shown(done.container)} replaced). Its servers get 403 until "
            f"`ilag apply {shown(slug)}` hands them the new one."
        )
