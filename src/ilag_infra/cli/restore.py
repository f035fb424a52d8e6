"""`ilag restore`: bring back files of one host from its own backups, verified."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ilag_infra.cli.backup_views import human_bytes
from ilag_infra.cli.context import Context
from ilag_infra.cli.options import EnvOption, JsonOption
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.shown import shown


def register(app: typer.Typer) -> None:
    @app.command("restore")
    def restore_cmd(
        host: Annotated[str, typer.Argument(help="Inventory name of the host.")],
        paths: Annotated[list[str], typer.Argument(metavar="PATH...", help="Absolute paths.")],
        at: Annotated[
            str | None,
            typer.Option("--at", help="Snapshot id, or a time (UTC): the newest snapshot then."),
        ] = None,
        to: Annotated[
            str | None,
            typer.Option("--to", help="Restore under this new or empty directory on the host."),
        ] = None,
        in_place: Annotated[
            bool,
            typer.Option(
                "--in-place", help="Put the snapshot's version back where it was (asks first)."
            ),
        ] = False,
        verify_only: Annotated[
            bool,
            typer.Option(
                "--verify-only",
                help="Restore into a scratch directory, compare with the snapshot, remove it "
                "(the scheduled restore test).",
            ),
        ] = False,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """Restore PATHs of HOST from its own repository, then verify them against the snapshot.

        By default into a new dated directory under /var/lib/ilag-restore on the same host:
        nothing is overwritten. --in-place keeps the current version as <path>.ilag-before-<time>.

        Examples:
          ilag restore andoy-fil01 /srv/share/budsjett.xlsx
          ilag restore andoy-fil01 /srv/share --at 2026-01-31T18:00 --to /srv/restored
        """
        from ilag_infra.onsite import restore as restore_mod

        ctx = Context(env, json=as_json)
        target, console = ctx.target, ctx.console
        req = restore_mod.RestoreRequest(host, paths, at, to, in_place, verify_only)

        def confirm(question: str) -> bool:
            if yes:
                return True
            if not sys.stdin.isatty():
                # Nobody to ask (a script, a pipe): only --yes may replace live files.
                return False
            return typer.confirm(question, default=False)

        result = restore_mod.restore(target, ctx.region.model.slugs, req, confirm)
        if as_json:
            print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            s = result.summary
            console.print(
                f"{shown(result.host.name)}: snapshot {shown(result.snapshot.short_id)} "
                f"({result.snapshot.time.isoformat(timespec='seconds')}) → "
                f"{shown(result.destination)}"
                + (" (scratch, removed)" if verify_only else "")
                + f" in {result.seconds:.1f} s"
            )
            console.print(
                f"  {s.files} files ({human_bytes(s.bytes)}), {s.dirs} folders, "
                f"{s.symlinks} symlinks, {s.others} other; {s.hardlink_groups} hard-link "
                f"groups, {s.with_xattrs} with xattrs/ACLs"
            )
            console.print(
                "  content verified by restic: "
                + ("[green]yes[/]" if result.restic_verified else "[bold red]no[/]")
            )
            for aside in result.kept_aside:
                console.print(f"  previous version kept as {shown(aside)}")
            for line in s.differences[:50]:
                console.print(f"  [red]differs:[/] {shown(line)}")
            if len(s.differences) > 50:
                console.print(f"  … and {len(s.differences) - 50} more (see the record)")
            if s.extra:
                console.print(f"  {len(s.extra)} entries not in the snapshot were left alone")
            if result.error:
                console.print(f"  [bold red]{shown(result.error)}[/]")
            console.print(
                ("[green]verified[/]" if result.ok else "[bold red]NOT verified[/]")
                + f"; record: {shown(result.record)}"
            )
        if not result.ok:
            raise typer.Exit(EXIT_FAILED)
