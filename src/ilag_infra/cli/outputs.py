"""`ilag outputs`: the stack outputs that runs hand to Ansible, secrets masked."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import EnvOption, JsonOption, OutputsOption, SuffixOption
from ilag_infra.model.secrets import mask_mapping


def register(app: typer.Typer) -> None:
    @app.command("outputs")
    def outputs_cmd(
        municipality: Annotated[
            str | None,
            typer.Argument(help="Show the run-time variables one municipality's run gets."),
        ] = None,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
        outputs_file: OutputsOption = None,
        stack_suffix: SuffixOption = None,
    ) -> None:
        """Fetch the stack outputs that runs hand to Ansible (secrets shown masked).

        In prod they come from `pulumi stack output --json --show-secrets` for network,
        identity and backup; in the lab from the lab's outputs file.

        Examples:
          ilag outputs
          ilag outputs andoy --env prod --stack-suffix prod
        """
        from ilag_infra.onsite.outputs import run_vars

        ctx = Context(env, outputs_file, stack_suffix, json=as_json)
        outs = ctx.target.stack_outputs()
        data: dict[str, Any]
        if municipality:
            rv = run_vars(ctx.region.model, municipality, outs)
            data = {"public": rv.public, "secrets": rv.secrets}
        else:
            data = {"source": outs.source, "outputs": outs.masked()}
        # The secrets policy masks whatever is secret by flag (masked()) or by name.
        safe = mask_mapping(data, known=outs.restic_passwords.values())
        if as_json:
            typer.echo(json.dumps(safe, indent=2))
        else:
            ctx.console.print_json(json.dumps(safe))
