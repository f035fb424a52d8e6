"""`ilag cert issue|ls`: short-lived SSH user certificates for technicians."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import EnvOption, JsonOption
from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.shown import shown

Kommune = Annotated[str, typer.Argument(metavar="KOMMUNE", help="The municipality (slug).")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="SSH user certificates for technicians: short-lived, one municipality each.\n\n"
        "Examples:\n  ilag cert issue andoy --key kari.pub --person kari.nordmann\n  ilag cert ls",
        no_args_is_help=True,
    )
    app.add_typer(group, name="cert")

    @group.command("issue")
    def issue_cmd(
        municipality: Kommune,
        key: Annotated[
            Path, typer.Option("--key", help="The technician's public key (.pub) to sign.")
        ],
        person: Annotated[
            str,
            typer.Option("--person", help="Who it is for (user name or e-mail); the key id."),
        ],
        hours: Annotated[
            float, typer.Option("--hours", help="Lifetime in hours, at most 24.")
        ] = 8.0,
        ca_key: Annotated[
            Path | None,
            typer.Option(
                "--ca-key",
                help="The CA's private key. Lab: the lab's CA. Production: required, on the "
                "offline signing machine.",
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Where to write the certificate (default: KEY-cert.pub)."),
        ] = None,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """Sign a technician's key for one municipality's servers.

        The certificate's only principal is KOMMUNE-tech, which only that municipality's
        hosts accept for the shared admin account (sudo follows from the account). It lives 8
        hours by default and a day at most; its key id is --person, so each login is logged
        with the person's name. Every certificate issued is recorded (`ilag cert ls`).

        Examples:
          ilag cert issue andoy --key kari.pub --person kari.nordmann
          ilag cert issue bo --key ola.pub --person ola --hours 2 --json
        """
        from ilag_infra.onsite import certs, runrecord

        ctx = Context(env, json=as_json)
        slug = ctx.slugs([municipality], False)[0]
        if ca_key is None:
            if ctx.target.env != "lab":
                raise InputError(
                    [
                        Problem(
                            "command line",
                            "--ca-key",
                            "is required outside the lab",
                            "sign on the offline CA machine and pass its key file",
                        )
                    ]
                )
            from ilag_infra.lab import lab_paths

            ca_key = lab_paths().user_ca_key
        done = certs.issue(ca_key, key, slug, person, hours, out)
        path = certs.record(done, runrecord.runs_dir(ctx.root))
        if as_json:
            typer.echo(json.dumps({**asdict(done), "record": str(path)}, indent=2))
            return
        ctx.console.print(
            f"[green]signed[/] {shown(done.certificate)} for {shown(person)}: "
            f"principal {shown(done.principals[0])}, valid until {done.valid_to} "
            f"(serial {done.serial}, recorded in {shown(str(path))})"
        )

    @group.command("ls")
    def ls_cmd(
        every: Annotated[bool, typer.Option("--all", help="Also the expired ones.")] = False,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """List the certificates issued that are still valid (with --all: every one), each
        with how long it has left (a day at most, so nothing else warns before they run out).

        Examples:
          ilag cert ls
          ilag cert ls --all --json
        """
        from ilag_infra.onsite import certs, runrecord

        ctx = Context(env, json=as_json)
        now = datetime.now(UTC)
        found, unreadable = certs.issued(runrecord.runs_dir(ctx.root))
        listed = [c for c in found if every or c.valid_at(now)]
        if as_json:
            typer.echo(
                json.dumps(
                    [{**asdict(c), "seconds_left": c.seconds_left(now)} for c in listed], indent=2
                )
            )
            return
        table = Table(title="SSH user certificates" + (" (all)" if every else " (valid now)"))
        for col in ("serial", "person", "kommune", "principals", "valid until", "left", "state"):
            table.add_column(col)
        for c in listed:
            state = "valid" if c.valid_at(now) else "expired"
            table.add_row(
                str(c.serial),
                shown(c.person),
                shown(c.municipality),
                shown(", ".join(c.principals)),
                c.valid_to,
                certs.left_text(c.seconds_left(now)),
                state,
            )
        ctx.console.print(table)
        for path in unreadable:
            ctx.console.print(f"[yellow]unreadable record skipped:[/] {shown(str(path))}")
