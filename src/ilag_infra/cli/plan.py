"""`ilag plan`: the Azure stacks planned offline, as a resource tree plus policy results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ilag_infra.cli.console import spinner
from ilag_infra.cli.context import Context
from ilag_infra.cli.options import JsonOption
from ilag_infra.cli.plan_view import render
from ilag_infra.model import paths
from ilag_infra.model.errors import EXIT_FAILED, InputError

STACK_HELP = "network | identity | backup (optionally -<env>); default: all three in order."
REGION_HELP = "Plan against this region.yaml instead of the stack's ilag:regionFile."


def refuse_placeholders(ctx: Context, root: Path, stacks: list[str]) -> None:
    """Every placeholder a production plan would meet, all at once, before any planning."""
    from ilag_infra.model import placeholders, region

    problems = region.placeholder_problems(ctx.region)
    prod_files = placeholders.production_stack_files(root)
    for name in stacks:
        path = root / "stacks" / f"Pulumi.{name}.yaml"
        if path in prod_files:
            problems += placeholders.stack_file_problems(path, f"stacks/{path.name}")
    if problems:
        raise InputError(problems)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        stack: Annotated[str | None, typer.Option("--stack", "-s", help=STACK_HELP)] = None,
        as_json: JsonOption = False,
        region_file: Annotated[
            Path | None,
            typer.Option("--region", "-r", help=REGION_HELP, envvar="ILAG_REGION"),
        ] = None,
        preview: Annotated[
            bool,
            typer.Option(
                "--preview",
                help="Plan as `pulumi preview` sees it: ids and computed outputs unknown; rules "
                "that need them report 'unknown until apply'.",
            ),
        ] = False,
        env: Annotated[
            str,
            typer.Option(
                "--env",
                envvar="ILAG_ENV",
                help="lab (default): the shipped example values plan. prod: plan as production "
                "runs; placeholders in region.yaml or a prod stack file are refused (exit 2).",
            ),
        ] = "lab",
    ) -> None:
        """Plan the Azure stacks offline under Pulumi mocks: resources, outputs, policies.

        Runs each stack's real program with its stacks/Pulumi.<stack>.yaml config (secrets
        shown as \\[secret]); identity and backup get the planned outputs of the stacks they
        reference. No Pulumi CLI or Azure credentials are needed. Exit 1 if a mandatory
        policy is violated, 2 on bad config or region, and with --env prod on any
        placeholder left in region.yaml or a prod stack file.

        Examples:
          ilag plan
          ilag plan --stack backup --json
          ilag plan --env prod
        """
        from ilag_infra.azure import plan

        ctx = Context(env, region_path=region_file, json=as_json)
        production = ctx.env == "prod"
        # Without --region each stack plans against its own ilag:regionFile.
        loaded = ctx.region if region_file else None
        names = [stack] if stack else list(plan.STACK_ORDER)
        root = None if region_file else ctx.root
        if production:
            refuse_placeholders(ctx, root or paths.repo_root(), names)
        with spinner(f"Planning {', '.join(names)} offline…"):
            results = plan.run_many(
                names,
                loaded,
                root=root,
                preview=preview,
                production=production,
                cache=True,
            )
        if as_json:
            data: Any = [r.to_dict() for r in results]
            typer.echo(json.dumps(data if len(data) > 1 else data[0], indent=2, ensure_ascii=False))
        else:
            for result in results:
                for line in render(result):
                    ctx.console.print(line, highlight=False, soft_wrap=True)
        access_ok = True
        if stack is None and not preview:
            # The whole region is planned: check who can do what to the backups as well.
            from ilag_infra.azure.access import outcome
            from ilag_infra.cli.access import render as render_access

            access = outcome.evaluate(results, ctx.region.model, ctx.root)
            access_ok = access.ok
            if not as_json:
                render_access(ctx, access)
            elif not access.ok:
                for diff in access.differences:
                    typer.echo(f"access: {diff.message}", err=True)
        if not all(r.ok for r in results) or not access_ok:
            raise typer.Exit(EXIT_FAILED)
