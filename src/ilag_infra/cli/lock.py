"""`ilag lock`: who holds a municipality's apply lock, and breaking a stale one."""

from __future__ import annotations

from typing import Annotated

import typer

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import EnvOption
from ilag_infra.model.errors import InputError, Problem

Municipality = Annotated[str, typer.Argument(metavar="KOMMUNE", help="A slug, e.g. bo.")]


def _store_url() -> str:
    from ilag_infra.onsite import recordstore

    url = recordstore.store_url()
    if url is None:
        raise InputError(
            [
                Problem(
                    "(environment)",
                    recordstore.STORE_ENV,
                    "no record store configured, so the apply lock is each machine's own "
                    "file lock (runs/locks/), which ends with its process",
                    f"set {recordstore.STORE_ENV} to the records container's SAS URL",
                )
            ]
        )
    return url


def register(app: typer.Typer) -> None:
    lock_app = typer.Typer(
        help="The region-wide apply lock: a lease per municipality in the record store.\n\n"
        "Examples:\n  ilag lock show andoy\n  ilag lock break andoy",
        no_args_is_help=True,
    )
    app.add_typer(lock_app, name="lock")

    @lock_app.command("show")
    def show_cmd(municipality: Municipality, env: EnvOption = "lab") -> None:
        """Say who holds the municipality's apply lock, if anyone.

        Examples:
          ilag lock show andoy
        """
        from ilag_infra.onsite import lease

        ctx = Context(env)
        slug = ctx.slugs([municipality])[0]
        found = lease.holder(_store_url(), ctx.env, slug)
        ctx.console.print(
            f"{slug} ({ctx.env}): " + (f"held by {found}" if found else "not held"),
            highlight=False,
            markup=False,
        )

    @lock_app.command("break")
    def break_cmd(municipality: Municipality, env: EnvOption = "lab") -> None:
        """End a stale apply lock at once (its run died); a live run loses its lock too, so
        check with `ilag lock show` first.

        Examples:
          ilag lock break andoy
        """
        from ilag_infra.onsite import lease

        ctx = Context(env)
        slug = ctx.slugs([municipality])[0]
        found = lease.break_lease(_store_url(), ctx.env, slug)
        ctx.console.print(
            f"{slug} ({ctx.env}): " + (f"broke the lock of {found}" if found else "not held"),
            highlight=False,
            markup=False,
        )
