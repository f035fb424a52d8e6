"""`ilag offboard SLUG`: plan a municipality's exit, and with --apply make the file changes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import JsonOption, RegionOption
from ilag_infra.model.errors import IlagError, InputError, Problem

if TYPE_CHECKING:
    from rich.console import Console

    from ilag_infra.model.offboard import OffboardPlan


def plain(value: Any) -> Any:
    if isinstance(value, Fraction):
        return {"fraction": f"{value.numerator}/{value.denominator}", "percent": float(value * 100)}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def plan_json(plan: OffboardPlan, applied: list[str] | None) -> dict[str, Any]:
    data: dict[str, Any] = plain(asdict(plan))
    data["applied"] = applied
    return data


def print_plan(console: Console, plan: OffboardPlan) -> None:
    from ilag_infra.model.offboard import percent

    def line(text: str = "", indent: int = 2) -> None:
        console.print(" " * indent + text, markup=False, highlight=False, soft_wrap=True)

    def head(text: str) -> None:
        console.print(f"\n[bold]{text}[/]", highlight=False)

    b = plan.backups
    console.print(
        f"[bold]Offboarding {plan.name}[/] ({plan.slug}, kommunenummer {plan.kommunenummer})",
        highlight=False,
    )
    head("Backups")
    line(f"container {b.container} is KEPT until its retention ends: {b.kept_until}")
    line(f"keep rules: {b.retention}, counted from the last backup on {b.last_backup}")
    line(f"repositories: {', '.join(b.repositories) or '(none: no backup_clients)'}")
    line(
        f"after the container is emptied, previous versions expire after 365 days and soft "
        f"delete keeps them {b.delete_retention_days} more: gone by {b.versions_gone_by}"
    )
    if b.immutability_days:
        line(
            f"WORM: ilag:backupImmutabilityDays is {b.immutability_days}: no version can be "
            "deleted before its retention interval ends"
        )
    else:
        line("WORM: no retention policy (ilag:backupImmutabilityDays 0)")
    line("Before the apply, either way (operator credential, placeholders in <>):")
    for step in b.before_steps:
        line(step, 4)
    line("Kept: the operator reads it until the retention ends, then deletes it:")
    for step in b.keep_steps:
        line(step, 4)
    line("Exported and handed over, if agreed (their repository, their password):")
    for step in b.export_steps:
        line(step, 4)
    head("Azure resources")
    for r in plan.resources:
        fate = "kept (leaves the state)" if r.fate == "kept" else "removed"
        line(f"{r.stack:<9} {fate:<24} {r.type} {r.name}")
    head("Secrets and config keys")
    for s in plan.secrets:
        line(f"{s.where}: {s.key}: {s.what}")
    head("Cost key")
    for c in plan.shares:
        line(f"{c.name:<10} {percent(c.before):>8} -> {percent(c.after):>8}")
    head("File changes" + ("" if plan.files else " (none)"))
    for f in plan.files:
        line(f"{f.action:<6} {f.path}: {f.detail}")
    head("Order")
    for n, step in enumerate(plan.steps, 1):
        line(f"{n}. {step}")
    head("Notes")
    for note in plan.notes:
        line(note)


def register(app: typer.Typer) -> None:
    @app.command("offboard")
    def offboard_cmd(
        slug: Annotated[str, typer.Argument(metavar="KOMMUNE", help="The municipality's slug.")],
        apply: Annotated[
            bool,
            typer.Option(
                "--apply",
                help="Make the file changes: region.yaml, inventories/KOMMUNE/, stack config "
                "keys, systems.yaml. Without it nothing is changed.",
            ),
        ] = False,
        last_backup: Annotated[
            str | None,
            typer.Option(
                "--last-backup",
                help="The day of its last backup, YYYY-MM-DD; retention dates count from it. "
                "Default: today (UTC).",
            ),
        ] = None,
        region_file: RegionOption = None,
        as_json: JsonOption = False,
    ) -> None:
        """Plan a municipality's clean exit; with --apply, change the repository's files.

        The plan says what happens to its backups (kept until retention ends, or exported
        and handed over, with the commands), its Azure resources per stack, its secrets and
        config keys, every other municipality's cost share before and after, and the file
        changes. Without --apply nothing is changed. With --apply the files are edited
        (comments kept) and `ilag validate` runs on the result; then `ilag diff` shows what
        the change does. Exit 2: unknown or last municipality, or other files still name it.

        Examples:
          ilag offboard bo
          ilag offboard bo --last-backup 2026-12-31 --json
          ilag offboard bo --apply
        """
        from ilag_infra.model import offboard, offboard_apply
        from ilag_infra.model.validate import validate

        day = dt.datetime.now(dt.UTC).date()
        if last_backup is not None:
            try:
                day = dt.date.fromisoformat(last_backup)
            except ValueError:
                raise InputError(
                    [
                        Problem(
                            "(command line)",
                            "--last-backup",
                            f"{last_backup!r} is not a date",
                            "write it as YYYY-MM-DD, e.g. 2026-12-31",
                        )
                    ]
                ) from None
        ctx = Context(region_path=region_file, json=as_json)
        offboard.check_slug(ctx.region, slug)  # an unknown or the last one, said first
        if apply:
            # A repository that is already broken is not edited further.
            validate(ctx.region_file, ctx.region, stacks_root=ctx.root)
        plan = offboard.plan(ctx.region, slug, ctx.root, day)
        if not as_json:
            print_plan(ctx.console, plan)
        applied = None
        if apply:
            applied = offboard_apply.apply(plan, ctx.root, ctx.region_file)
            try:
                report = validate(ctx.region_file, None, stacks_root=ctx.root)
            except InputError as exc:
                raise IlagError(
                    f"the files were changed ({'; '.join(applied)}) but `ilag validate` now "
                    f"fails:\n{exc}\nfix these, or `git checkout -- .` to undo"
                ) from None
            applied.append(
                f"ilag validate: ok, {len(report.region.model.municipalities)} municipalities, "
                f"{report.host_count} hosts"
            )
        if as_json:
            typer.echo(json.dumps(plan_json(plan, applied), indent=2, ensure_ascii=False))
            return
        if applied is None:
            ctx.console.print(
                "\nNothing was changed. Run with --apply to make the file changes.",
                highlight=False,
            )
            return
        ctx.console.print("\n[bold]Applied[/]", highlight=False)
        for done in applied:
            ctx.console.print(f"  {done}", markup=False, highlight=False)
        ctx.console.print(
            "Next: `ilag diff` to review, commit, then the pulumi steps of the Order above.",
            highlight=False,
        )
