"""How an offline plan looks in a terminal: a resource tree, outputs and policy results."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ilag_infra.model.secrets import redact_text
from ilag_infra.model.shown import shown

if TYPE_CHECKING:
    from ilag_infra.azure.plan import PlanResource, PlanResult

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
        f"[bold]stack {shown(result.stack)}[/] ({len(result.resources)} resources, {result.seconds:.1f} s)"
    ]

    def walk(parent: str | None, depth: int) -> None:
        for res in children.get(parent, []):
            pad = "  " * (depth + 1)
            kind = "" if res.custom else " [dim](component)[/]"
            lines.append(f"{pad}[cyan]{shown(res.type)}[/] {shown(res.name)}{kind}")
            detail = _inputs_line(res)
            if detail:
                lines.append(f"{pad}    [dim]{shown(detail)}[/]")
            deps = [_short(d) for d in res.dependencies if d != res.parent]
            if deps:
                lines.append(f"{pad}    [dim]depends on: {shown(', '.join(deps))}[/]")
            walk(res.urn, depth + 1)

    walk(None, 0)
    lines.append("  [bold]outputs[/]")
    for name, value in result.outputs.items():
        lines.append(
            f"    {shown(name)} = {shown(redact_text(json.dumps(value, ensure_ascii=False)))}"
        )
    lines.append("  [bold]policies[/]")
    failed = {v.policy for v in result.violations}
    for name in result.policies_checked:
        mark = "[red]FAIL[/]" if name in failed else "[green]pass[/]"
        lines.append(f"    {mark} {shown(name)}")
    for v in result.violations:
        lines.append(
            f"      [red]{shown(v.enforcement)}[/] {shown(v.policy)}: {shown(v.type)} "
            f"{shown(v.name)}: {shown(v.message)}"
        )
    return lines
