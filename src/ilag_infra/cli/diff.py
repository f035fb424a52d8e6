"""`ilag diff` and `ilag preview`: what a change would do, for reviewers and for CI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ilag_infra.cli.console import spinner
from ilag_infra.cli.context import Context
from ilag_infra.model.errors import EXIT_FAILED, InputError, Problem

FormatOption = Annotated[
    str,
    typer.Option("--format", "-f", help="markdown (the PR comment), text (terminals) or json."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report to this file instead of stdout."),
]


def _check_format(fmt: str) -> None:
    from ilag_infra.diff.render import FORMATS

    if fmt not in FORMATS:
        raise InputError(
            [
                Problem(
                    "command line",
                    "--format",
                    f"unknown format {fmt!r}",
                    f"use one of {', '.join(FORMATS)}",
                )
            ]
        )


def _base(argument: str | None, option: str | None) -> str:
    """The revision to compare against, given as BASE or as --base (not two different ones)."""
    if argument and option and argument != option:
        raise InputError(
            [
                Problem(
                    "command line",
                    "BASE",
                    f"two bases given: {argument!r} and --base {option!r}",
                    "give the base once, e.g. `ilag diff HEAD~1`",
                )
            ]
        )
    base = argument or option
    if not base:
        raise InputError(
            [
                Problem(
                    "command line",
                    "BASE",
                    "no base revision given",
                    "name the revision to compare against, e.g. `ilag diff HEAD~1` or "
                    "`ilag diff origin/main`",
                )
            ]
        )
    return base


def _emit(text: str, output: Path | None, summary: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    typer.echo(f"{summary}; report written to {output}", err=True)


def register(app: typer.Typer) -> None:
    @app.command("diff")
    def diff_cmd(
        base_arg: Annotated[
            str | None,
            typer.Argument(
                metavar="BASE", help="The revision to compare against, e.g. HEAD~1 or origin/main."
            ),
        ] = None,
        base_opt: Annotated[
            str | None, typer.Option("--base", "-b", help="Same as BASE.", show_default=False)
        ] = None,
        head: Annotated[
            str | None,
            typer.Option("--head", help="The revision to review; default: the working tree."),
        ] = None,
        fmt: FormatOption = "text",
        check: Annotated[
            bool,
            typer.Option(
                "--check",
                help="Also run Ansible in check mode (--diff) on the affected hosts it can reach.",
            ),
        ] = False,
        env: Annotated[
            str,
            typer.Option(
                "--env", envvar="ILAG_ENV", help="Where --check runs: lab (default) or prod."
            ),
        ] = "lab",
        as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
        output: OutputOption = None,
        text_output: Annotated[
            Path | None,
            typer.Option(
                "--text-output",
                help="Also write the full, untrimmed text report here (e.g. a CI artifact).",
            ),
        ] = None,
        serial: Annotated[
            bool, typer.Option("--serial", help="Plan the two revisions one after the other.")
        ] = False,
    ) -> None:
        """Preview what a change does to Azure and to which municipalities' servers.

        Plans the network, identity and backup stacks offline at both revisions (the base in a
        temporary git worktree), compares them by URN (creates, updates with each changed
        property, deletes, and renames that would replace a resource unless given an alias),
        lists policy results at head, and maps changed roles, variables and inventories to
        municipalities and hosts. Secret values are always masked.
        Exit 0 when the report was made, 1 if the head plan fails or violates a mandatory
        policy (the report is still written), 2 on bad input: an unknown ref, or a file at
        head that does not validate (the report is still written).

        Examples:
          ilag diff HEAD~1
          ilag diff origin/main -f markdown -o comment.md
        """
        from ilag_infra.diff import run as diff_mod
        from ilag_infra.diff.render import render

        base = _base(base_arg, base_opt)
        fmt = "json" if as_json else fmt
        _check_format(fmt)
        ctx = Context(env, json=True)
        with spinner(f"Planning {base} and {head or 'the working tree'} offline…"):
            report = diff_mod.run_diff(
                ctx.root, base, head, check_env=ctx.env if check else None, parallel=not serial
            )
        counts = [
            sum(s.count(op) for s in report.stacks)
            for op in ("create", "update", "delete", "replace")
        ]
        hosts = sum(len(m.hosts) for m in (report.ansible.municipalities if report.ansible else []))
        summary = (
            f"Azure: {counts[0]} to create, {counts[1]} to update, {counts[2]} to delete, "
            f"{counts[3]} to replace; {hosts} host(s) affected"
        )
        _emit(render(report, fmt), output, summary)
        if text_output is not None:
            text_output.write_text(render(report, "text"), encoding="utf-8")
        if report.exit_code:  # 2: a file at head does not validate; 1: its plan fails
            raise typer.Exit(report.exit_code)

    @app.command("preview")
    def preview_cmd(
        stack: Annotated[
            str,
            typer.Option("--stack", "-s", help="network | identity | backup (optionally -<env>)."),
        ],
        fmt: FormatOption = "text",
        output: OutputOption = None,
    ) -> None:
        """Run the real `pulumi preview` of one stack (needs the Pulumi CLI and Azure access).

        Uses Pulumi's Automation API on the stack in this project and renders the engine's
        planned steps like `ilag diff`. Exit 1 when the CLI is missing (with what to install)
        or the preview fails; 2 on bad input.

        Examples:
          ilag preview --stack network
          ilag preview -s backup-prod -f markdown -o preview.md
        """
        from ilag_infra.diff import preview as diffpreview
        from ilag_infra.diff.render import render

        _check_format(fmt)
        with spinner(f"pulumi preview of {stack}…"):
            report = diffpreview.preview(Context().root, stack)
        _emit(render(report, fmt), output, f"preview of {stack}")
        if report.failed or report.mandatory_violations:
            raise typer.Exit(EXIT_FAILED)
