"""`ilag apply` and `ilag outputs`: on-site configuration runs, with live progress and a recap."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer
from rich.markup import escape
from rich.table import Table

from ilag_infra.cli.console import make_console
from ilag_infra.model import region
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.paths import repo_root
from ilag_infra.onsite import apply as apply_mod
from ilag_infra.onsite.runner import ApplyRequest, MunicipalityResult, Progress
from ilag_infra.onsite.targets import EnvName, Target

console = make_console()

EnvOption = Annotated[
    str,
    typer.Option(
        "--env",
        "-e",
        envvar="ILAG_ENV",
        help="lab: the local lab (default, safe). prod: the municipalities' real servers, "
        "with outputs from `pulumi stack output`.",
    ),
]
OutputsOption = Annotated[
    Path | None,
    typer.Option(
        "--outputs",
        help="Read stack outputs from this JSON file instead (shape: docs/interfaces.md).",
    ),
]
SuffixOption = Annotated[
    str | None,
    typer.Option("--stack-suffix", help="Stack name suffix in prod, e.g. 'prod' for network-prod."),
]


def make_target(env: str, outputs_file: Path | None, suffix: str | None) -> Target:
    if env not in ("lab", "prod"):
        raise typer.BadParameter("must be 'lab' or 'prod'", param_hint="--env")
    name: EnvName = "lab" if env == "lab" else "prod"
    return Target(name, repo_root(), outputs_file, suffix)


class LivePrinter:
    """Prints progress lines from several municipalities' threads without mixing them."""

    STYLE: ClassVar[dict[str, str]] = {
        "changed": "yellow",
        "failed": "bold red",
        "unreachable": "bold magenta",
        "ok": "green",
        "skipped": "cyan",
    }

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.lock = threading.Lock()

    def __call__(self, p: Progress) -> None:
        if p.kind == "task":
            if not self.verbose:
                return
            line = f"[dim]{p.slug:>9} │ TASK {escape(p.task)}[/]"
        elif p.kind == "diff":
            line = f"{p.slug:>9} │ {p.host}: diff of {escape(p.task)}\n{escape(p.detail)}"
        elif p.kind in ("ok", "skipped") and not self.verbose:
            return
        else:
            style = self.STYLE.get(p.kind, "")
            detail = f" — {escape(p.detail)}" if p.detail else ""
            line = f"{p.slug:>9} │ [{style}]{p.kind:<11}[/] {p.host} │ {escape(p.task)}{detail}"
        with self.lock:
            console.print(line, markup=True, soft_wrap=True)


def recap(results: list[MunicipalityResult]) -> Table:
    t = Table(title="Recap")
    for col in (
        "Municipality",
        "Host",
        "ok",
        "changed",
        "failed",
        "unreachable",
        "skipped",
        "Status",
    ):
        t.add_column(col, justify="right" if col.islower() else "left")
    for r in results:
        if not r.hosts:
            reason = next(iter(r.messages.values()), r.status)
            t.add_row(
                r.slug,
                "-",
                "",
                "",
                "",
                "",
                "",
                f"[red]{r.status}[/]: {escape(reason)}",
                end_section=True,
            )
            continue
        for i, h in enumerate(sorted(r.hosts.values(), key=lambda x: x.name)):
            style = {"ok": "green", "changed": "yellow"}.get(h.status, "bold red")
            t.add_row(
                r.slug if i == 0 else "",
                h.name,
                str(h.ok),
                str(h.changed),
                str(h.failed),
                str(h.unreachable),
                str(h.skipped),
                f"[{style}]{h.status}[/]",
                end_section=i == len(r.hosts) - 1,
            )
    return t


def register(app: typer.Typer) -> None:
    @app.command("apply")
    def apply_cmd(
        municipalities: Annotated[
            list[str] | None,
            typer.Argument(metavar="[MUNICIPALITY]...", help="Slugs, e.g. andoy sortland."),
        ] = None,
        all_: Annotated[
            bool, typer.Option("--all", help="Every municipality, in parallel.")
        ] = False,
        playbook: Annotated[
            str,
            typer.Option(
                "--playbook",
                "-p",
                help="A playbook in playbooks/ (site, baseline, identity, network, backup, "
                "restore-test) or a path.",
            ),
        ] = "site",
        check: Annotated[bool, typer.Option("--check", help="Dry run: change nothing.")] = False,
        diff: Annotated[bool, typer.Option("--diff", help="Show what changes in files.")] = False,
        tags: Annotated[str | None, typer.Option("--tags", "-t", help="Only these tags.")] = None,
        limit: Annotated[
            str | None,
            typer.Option("--limit", "-l", help="Only these hosts or groups (Ansible pattern)."),
        ] = None,
        wait: Annotated[
            float,
            typer.Option(
                "--wait",
                help="Seconds to wait for another run on "
                "the same municipality to finish; by default refuse at once.",
            ),
        ] = 0.0,
        mitogen: Annotated[
            bool,
            typer.Option(
                "--mitogen/--no-mitogen",
                help="Use the Mitogen strategy: several times faster on no-op runs (bench/); "
                "host keys are still checked against the pinned file. --no-mitogen uses "
                "Ansible's own linear strategy with pipelining.",
            ),
        ] = True,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Also show every task and unchanged result.")
        ] = False,
        env: EnvOption = "lab",
        outputs_file: OutputsOption = None,
        stack_suffix: SuffixOption = None,
    ) -> None:
        """Apply the on-site roles to one or more municipalities' servers.

        Runs ansible-runner with the municipality's inventory, pinned host keys (checking on),
        and the stack outputs as run-time variables; secrets never touch the run's artifacts.
        Live progress shows every change and failure; a recap table closes the run. A JSON
        record of each run is kept under runs/. Exit 1 names every failed or unreachable host.

        Examples:  ilag apply andoy --check --diff      ilag apply --all
        """
        target = make_target(env, outputs_file, stack_suffix)
        root = target.repo_root
        loaded = region.load(root / "region.yaml")
        slugs = apply_mod.resolve_slugs(loaded.model, municipalities or [], all_)
        book = apply_mod.playbook_path(root, playbook)
        req = ApplyRequest(
            slug="",
            playbook=book,
            check=check,
            diff=diff,
            tags=tags,
            limit=limit,
            strategy="mitogen" if mitogen else None,
        )
        mode = " (check mode)" if check else ""
        console.print(f"Applying [bold]{book.name}[/] to {', '.join(slugs)} in {target.env}{mode}")
        outcome = apply_mod.apply(loaded.model, target, slugs, req, LivePrinter(verbose), wait)
        console.print(recap(outcome.results))
        for path in outcome.records:
            console.print(f"[dim]run record: {path}[/]")
        if not outcome.ok:
            for slug, hosts in outcome.problem_hosts.items():
                console.print(f"[bold red]{slug}: failed or unreachable: {', '.join(hosts)}[/]")
            for r in outcome.results:
                for host, msg in r.messages.items():
                    console.print(f"  {r.slug} {host}: {msg}", markup=False)
            raise typer.Exit(EXIT_FAILED)

    @app.command("outputs")
    def outputs_cmd(
        municipality: Annotated[
            str | None,
            typer.Argument(help="Show the run-time variables one municipality's run gets."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        env: EnvOption = "lab",
        outputs_file: OutputsOption = None,
        stack_suffix: SuffixOption = None,
    ) -> None:
        """Fetch the stack outputs that runs hand to Ansible (secrets shown masked).

        In prod they come from `pulumi stack output --json --show-secrets` for network,
        identity and backup; in the lab from the lab's outputs file.
        """
        target = make_target(env, outputs_file, stack_suffix)
        outs = target.stack_outputs()
        if municipality:
            from ilag_infra.onsite.outputs import SECRET_MASK, run_vars

            loaded = region.load(target.repo_root / "region.yaml")
            rv = run_vars(loaded.model, municipality, outs)
            masked = {k: {n: SECRET_MASK for n in v} for k, v in rv.secrets.items()}
            data: dict[str, Any] = {"public": rv.public, "secrets": masked}
        else:
            data = {"source": outs.source, "outputs": outs.masked()}
        if as_json:
            typer.echo(json.dumps(data, indent=2))
        else:
            console.print_json(json.dumps(data))
