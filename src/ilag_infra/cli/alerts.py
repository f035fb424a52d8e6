"""`ilag alerts`: try the alert channels the ILAG_ALERT_* settings configure."""

from __future__ import annotations

from typing import Annotated

import typer

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import AllOption, EnvOption, Municipalities
from ilag_infra.model.errors import IlagError, InputError, Problem

MunicipalityOption = Annotated[
    str | None,
    typer.Option("--municipality", "-m", metavar="KOMMUNE", help="Name this municipality in it."),
]

KindsOption = Annotated[
    list[str] | None,
    typer.Option("--kind", "-k", help="A check to watch (default: drift, backup, restore, audit)."),
]


class AlertChannelError(IlagError):
    """A configured alert channel did not take the message (exit 1)."""


def register(app: typer.Typer) -> None:
    alerts_app = typer.Typer(
        help="Alerts: one per problem on a chat webhook and/or e-mail, set by the "
        "ILAG_ALERT_* environment variables (docs/operators.md, Alerts).\n\n"
        "Examples:\n  ilag alerts test\n  ilag alerts stale bo --env prod",
        no_args_is_help=True,
    )
    app.add_typer(alerts_app, name="alerts")

    @alerts_app.command("test")
    def test_cmd(municipality: MunicipalityOption = None, env: EnvOption = "lab") -> None:
        """Send one test alert on every configured channel and say what went where (the
        webhook's URL masked). Exit 2 on bad settings, 1 when a channel fails.

        Examples:
          ilag alerts test
          ilag alerts test --municipality bo --env prod
        """
        from ilag_infra.onsite import alert_channels, alert_settings, alerts

        ctx = Context(env)
        slug = ctx.slugs([municipality])[0] if municipality else None
        settings = alert_settings.from_env()
        out = ctx.console
        if not settings.channels:
            out.print(
                f"[yellow]note:[/] {alerts.NO_CHANNELS_NOTE}: set "
                f"{alert_settings.WEBHOOK_URL} and/or {alert_settings.SMTP} "
                "(docs/operators.md, Alerts)",
                highlight=False,
            )
            return
        results = alerts.send_test(settings, ctx.env, slug)
        for channel, why in results.items():
            where = alert_channels.where(settings, channel)
            if why is None:
                out.print(f"{channel}: sent to {where}", highlight=False, markup=False)
            else:
                out.print(f"{channel}: FAILED: {why}", highlight=False, markup=False)
        failed = [c for c, why in results.items() if why is not None]
        if failed:
            raise AlertChannelError(
                f"alert channel(s) failed: {', '.join(failed)}; check the address and that "
                "the node reaches it, then run `ilag alerts test` again"
            )

    @alerts_app.command("stale")
    def stale_cmd(
        municipalities: Municipalities = None,
        all_: AllOption = False,
        kinds: KindsOption = None,
        env: EnvOption = "lab",
    ) -> None:
        """Alert once when a watched check's latest result in runs/ is older than its window
        (Obs) or twice its window (Feil), or missing, and once more (Løst) when a fresh one
        comes. For a node's hourly timer: a check that stopped running writes nothing.

        Examples:
          ilag alerts stale bo --env prod
          ilag alerts stale --all --kind backup
        """
        from ilag_infra.onsite import alert_settings, alert_stale, alerts, recordschema

        ctx = Context(env)
        watched = kinds or list(alert_stale.WATCHED)
        unknown = [k for k in watched if k not in recordschema.FRESHNESS]
        if unknown:
            raise InputError(
                [
                    Problem(
                        "(command line)",
                        "--kind",
                        f"no freshness window for {', '.join(unknown)}",
                        f"use some of: {', '.join(recordschema.FRESHNESS)}",
                    )
                ]
            )
        slugs = ctx.slugs(municipalities, all_=all_ or not municipalities)
        settings = alert_settings.from_env()
        failed: set[str] = set()
        for slug in slugs:
            outcome = alerts.notify_stale(ctx.root, ctx.env, slug, watched, settings)
            for line in outcome.lines():
                ctx.console.print(f"{slug}: {line}", highlight=False, markup=False)
            if not outcome.channels:
                break  # the note says it once
            failed |= set(outcome.failed)
        if failed:
            raise AlertChannelError(
                f"alert channel(s) failed: {', '.join(sorted(failed))}; the alerts wait for "
                "the next run. Check the settings with `ilag alerts test`"
            )
