"""`ilag apply`: on-site configuration runs, with live progress and a recap."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ilag_infra.cli import alerting
from ilag_infra.cli.context import Context
from ilag_infra.cli.context import make_target as make_target  # cli/backup.py uses it
from ilag_infra.cli.options import (
    EnvOption,
    JsonOption,
    LimitOption,
    Municipalities,
    OutputsOption,
    SuffixOption,
)
from ilag_infra.cli.views import LivePrinter, recap, recap_json
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.secrets import redact_text
from ilag_infra.model.shown import shown

__all__ = ["EnvOption", "make_target", "register"]

PLAYBOOK_HELP = (
    "A playbook in playbooks/ (site, baseline, identity, network, backup, restore-test) or a path."
)
MITOGEN_HELP = (
    "Use the Mitogen strategy: several times faster on no-op runs (bench/); host keys are "
    "still checked against the pinned file. --no-mitogen uses Ansible's own linear strategy "
    "with pipelining."
)
VIA_NODE_HELP = (
    "Hand the run to the municipality's node over SSH (ansible-runner transmit | worker | "
    "process, the protocol AWX uses): the node reaches its servers with its own certificate."
)
WAIT_HELP = (
    "Seconds to wait for another run on the same municipality to finish; by default refuse at once."
)


def register(app: typer.Typer) -> None:
    @app.command("apply")
    def apply_cmd(
        municipalities: Municipalities = None,
        all_: Annotated[
            bool, typer.Option("--all", help="Every municipality, in parallel.")
        ] = False,
        playbook: Annotated[str, typer.Option("--playbook", "-p", help=PLAYBOOK_HELP)] = "site",
        check: Annotated[bool, typer.Option("--check", help="Dry run: change nothing.")] = False,
        diff: Annotated[bool, typer.Option("--diff", help="Show what changes in files.")] = False,
        tags: Annotated[str | None, typer.Option("--tags", "-t", help="Only these tags.")] = None,
        limit: LimitOption = None,
        wait: Annotated[float, typer.Option("--wait", help=WAIT_HELP)] = 0.0,
        mitogen: Annotated[bool, typer.Option("--mitogen/--no-mitogen", help=MITOGEN_HELP)] = True,
        via_node: Annotated[bool, typer.Option("--via-node", help=VIA_NODE_HELP)] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Also show every task and unchanged result.")
        ] = False,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
        outputs_file: OutputsOption = None,
        stack_suffix: SuffixOption = None,
    ) -> None:
        """Apply the on-site roles to one or more municipalities' servers.

        Runs ansible-runner with the municipality's inventory, pinned host keys (checking on),
        and the stack outputs as run-time variables; secrets never touch the run's artifacts.
        Live progress shows every change and failure; a recap table closes the run (with
        --json, progress goes to stderr and the recap is JSON on stdout). A JSON record of
        each run is kept under runs/. Exit 1 names every failed or unreachable host.

        Examples:
          ilag apply andoy --check --diff
          ilag apply --all
          ilag apply sortland --playbook backup --env prod
          ilag apply bo --check --via-node
        """
        from ilag_infra.onsite import apply as apply_mod
        from ilag_infra.onsite.runner import ApplyRequest

        ctx = Context(env, outputs_file, stack_suffix, json=as_json)
        slugs = ctx.slugs(municipalities, all_)
        alert_settings = alerting.settings()
        book = apply_mod.playbook_path(ctx.root, playbook)
        strategy = "mitogen" if mitogen and not via_node else None
        req = ApplyRequest("", book, check, diff, tags, limit, strategy=strategy, via_node=via_node)
        out = ctx.console
        mode = " (check mode)" if check else ""
        out.print(f"Applying [bold]{book.name}[/] to {shown(', '.join(slugs))} in {ctx.env}{mode}")
        outcome = apply_mod.apply(
            ctx.region.model, ctx.target, slugs, req, LivePrinter(out, verbose), wait
        )
        if as_json:
            typer.echo(json.dumps(recap_json(outcome, ctx.env, book.name, check), indent=2))
        else:
            out.print(recap(outcome.results))
        for path in outcome.records:
            out.print(f"[dim]run record: {shown(path)}[/]")
        if outcome.lock_note:
            out.print(f"[yellow]note:[/] {shown(outcome.lock_note)}", highlight=False)
        alerted = alerting.after_check(ctx.root, outcome.check_records, alert_settings, out)
        if not outcome.ok:
            for slug, hosts in outcome.problem_hosts.items():
                out.print(
                    f"[bold red]{shown(slug)}: failed or unreachable: {shown(', '.join(hosts))}[/]"
                )
            for r in outcome.results:
                for host, msg in r.messages.items():
                    out.print(f"  {r.slug} {host}: {redact_text(msg)}", markup=False)
            raise typer.Exit(EXIT_FAILED)
        if not alerted:
            raise typer.Exit(EXIT_FAILED)
