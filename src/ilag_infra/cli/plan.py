"""`ilag plan`: the Azure stacks planned offline, as a resource tree plus policy results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from ilag_infra.azure.plan import PlanResource, PlanResult

console = Console(width=170) if not Console().is_terminal else Console()

# Inputs worth a glance in the tree; the JSON output carries all of them.
KEY_INPUTS = (
    "location",
    "addressSpace",
    "addressPrefix",
    "sku",
    "zones",
    "gatewayIpAddress",
    "fqdn",
    "localNetworkAddressSpace",
    "connectionProtocol",
    "sharedKey",
    "ipConfigurations",
    "properties",
    "kind",
    "accountName",
    "containerName",
    "publicAccess",
    "principalId",
    "roleDefinitionId",
    "scope",
    "subject",
    "level",
    "tags",
)
_SHOW_TAGS_FOR = ("azure-native:resources:ResourceGroup",)


def _short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _inputs_line(res: PlanResource) -> str:
    parts = []
    for key in KEY_INPUTS:
        if key not in res.inputs:
            continue
        if key == "tags" and res.type not in _SHOW_TAGS_FOR:
            continue
        text = json.dumps(res.inputs[key], separators=(",", ":"), ensure_ascii=False)
        if len(text) > 90:
            text = text[:87] + "..."
        parts.append(f"{key}={text}")
    return " ".join(parts)


def render(result: PlanResult) -> list[str]:
    """The plan as indented lines: components hold their children; deps in brackets."""
    children: dict[str | None, list[PlanResource]] = {}
    urns = {r.urn for r in result.resources}
    for res in result.resources:
        parent = res.parent if res.parent in urns else None
        children.setdefault(parent, []).append(res)
    lines: list[str] = [
        f"[bold]stack {result.stack}[/] ({len(result.resources)} resources, {result.seconds:.1f} s)"
    ]

    def walk(parent: str | None, depth: int) -> None:
        for res in children.get(parent, []):
            pad = "  " * (depth + 1)
            kind = "" if res.custom else " [dim](component)[/]"
            lines.append(f"{pad}[cyan]{escape(res.type)}[/] {escape(res.name)}{kind}")
            detail = _inputs_line(res)
            if detail:
                lines.append(f"{pad}    [dim]{escape(detail)}[/]")
            deps = [_short(d) for d in res.dependencies if d != res.parent]
            if deps:
                lines.append(f"{pad}    [dim]depends on: {escape(', '.join(deps))}[/]")
            walk(res.urn, depth + 1)

    walk(None, 0)
    lines.append("  [bold]outputs[/]")
    for name, value in result.outputs.items():
        lines.append(f"    {name} = {escape(json.dumps(value, ensure_ascii=False))}")
    lines.append("  [bold]policies[/]")
    failed = {v.policy for v in result.violations}
    for name in result.policies_checked:
        mark = "[red]FAIL[/]" if name in failed else "[green]pass[/]"
        lines.append(f"    {mark} {name}")
    for v in result.violations:
        lines.append(
            f"      [red]{v.enforcement}[/] {v.policy}: {escape(v.type)} "
            f"{escape(v.name)}: {escape(v.message)}"
        )
    return lines


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        stack: Annotated[
            str | None,
            typer.Option(
                "--stack",
                "-s",
                help="network | identity | backup (optionally -<env>); "
                "default: all three in order.",
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
        region_file: Annotated[
            Path | None,
            typer.Option(
                "--region",
                "-r",
                help="Plan against this region.yaml instead of the stack's ilag:regionFile.",
                envvar="ILAG_REGION",
            ),
        ] = None,
    ) -> None:
        """Plan the Azure stacks offline under Pulumi mocks: resources, outputs, policies.

        Runs each stack's real program with its stacks/Pulumi.<stack>.yaml config (secrets
        shown as \\[secret]); identity and backup get the planned outputs of the stacks they
        reference. No Pulumi CLI or Azure credentials are needed. Exit 1 if a mandatory
        policy is violated, 2 on bad config or region.
        """
        from ilag_infra.azure import plan
        from ilag_infra.model import region as region_mod

        loaded = region_mod.load(region_file) if region_file else None
        names = [stack] if stack else list(plan.STACK_ORDER)
        results = plan.run_many(names, loaded)
        if as_json:
            data: Any = [r.to_dict() for r in results]
            typer.echo(json.dumps(data if len(data) > 1 else data[0], indent=2, ensure_ascii=False))
        else:
            for result in results:
                for line in render(result):
                    console.print(line, highlight=False, soft_wrap=True)
        if not all(r.ok for r in results):
            raise typer.Exit(1)
