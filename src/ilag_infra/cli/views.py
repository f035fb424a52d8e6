"""How on-site runs look: live progress lines, the recap and preflight tables, and their
JSON (keys documented in docs/interfaces.md; messages pass the secrets policy)."""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Console
from rich.table import Table

from ilag_infra.model.errors import Problem
from ilag_infra.model.secrets import redact_text
from ilag_infra.model.shown import shown

if TYPE_CHECKING:  # types only: preflight brings in the SSH library
    from ilag_infra.onsite.apply import ApplyOutcome
    from ilag_infra.onsite.preflight import HostCheck
    from ilag_infra.onsite.runner import MunicipalityResult, Progress

COUNTS = ("ok", "changed", "failed", "unreachable", "skipped")


class LivePrinter:
    """Prints progress lines from several municipalities' threads without mixing them."""

    STYLE: ClassVar[dict[str, str]] = {
        "changed": "yellow",
        "failed": "bold red",
        "unreachable": "bold magenta",
        "ok": "green",
        "skipped": "cyan",
    }

    def __init__(self, console: Console, verbose: bool) -> None:
        self.console = console
        self.verbose = verbose
        self.lock = threading.Lock()

    def __call__(self, p: Progress) -> None:
        # Task names and diffs may quote a SAS URL or a password: redact before markup.
        task, text = shown(redact_text(p.task)), shown(redact_text(p.detail), keep="\n")
        slug, host = shown(f"{p.slug:>9}"), shown(p.host)
        if p.kind == "task":
            if not self.verbose:
                return
            line = f"[dim]{slug} │ TASK {task}[/]"
        elif p.kind == "diff":
            line = f"{slug} │ {host}: diff of {task}\n{text}"
        elif p.kind in ("ok", "skipped") and not self.verbose:
            return
        else:
            style = self.STYLE.get(p.kind, "")
            detail = f" — {text}" if p.detail else ""
            line = f"{slug} │ [{style}]{p.kind:<11}[/] {host} │ {task}{detail}"
        with self.lock:
            self.console.print(line, markup=True, soft_wrap=True)


def recap(results: list[MunicipalityResult]) -> Table:
    t = Table(title="Recap")
    for col in ("Municipality", "Host", *COUNTS, "Status"):
        t.add_column(col, justify="right" if col.islower() else "left")
    for r in results:
        if not r.hosts:
            reason = redact_text(next(iter(r.messages.values()), r.status))
            status = f"[red]{r.status}[/]: {shown(reason)}"
            t.add_row(shown(r.slug), "-", *[""] * len(COUNTS), status, end_section=True)
            continue
        for i, h in enumerate(sorted(r.hosts.values(), key=lambda x: x.name)):
            style = {"ok": "green", "changed": "yellow"}.get(h.status, "bold red")
            t.add_row(
                shown(r.slug) if i == 0 else "",
                shown(h.name),
                *[str(getattr(h, c)) for c in COUNTS],
                f"[{style}]{h.status}[/]",
                end_section=i == len(r.hosts) - 1,
            )
    return t


def recap_json(outcome: ApplyOutcome, env: str, playbook: str, check: bool) -> dict[str, Any]:
    """`ilag apply --json`."""
    return {
        "run_id": outcome.run_id,
        "env": env,
        "playbook": playbook,
        "check": check,
        "ok": outcome.ok,
        "municipalities": [
            {
                "slug": r.slug,
                "status": r.status,
                "rc": r.rc,
                "hosts": [
                    {"name": h.name, **{c: getattr(h, c) for c in COUNTS}, "status": h.status}
                    for h in sorted(r.hosts.values(), key=lambda x: x.name)
                ],
                "messages": {k: redact_text(v) for k, v in r.messages.items()},
            }
            for r in outcome.results
        ],
        "problem_hosts": outcome.problem_hosts,
        "records": [str(p) for p in outcome.records],
    }


def preflight_table(checks: list[HostCheck], env: str) -> Table:
    t = Table(title=f"Preflight ({env})")
    for col in ("Municipality", "Host", "Address", "Host key", "python3", "sudo", "Free /"):
        t.add_column(col)
    t.add_column("Clock skew")
    t.add_column("Status")
    for c in checks:
        t.add_row(
            shown(c.host.municipality),
            shown(c.host.name),
            shown(c.host.address),
            shown(c.host_key) if c.host_key != "MISMATCH" else "[bold red]MISMATCH[/]",
            shown(c.python3),
            shown(c.sudo),
            f"{c.free_mib} MiB" if c.free_mib is not None else "-",
            f"{c.skew_s:+.2f} s" if c.skew_s is not None else "-",
            "[green]ready[/]" if c.ok else "[bold red]NOT READY[/]",
        )
    return t


def warning_line(p: Problem) -> str:
    """One expiry warning as `ilag validate` and `ilag preflight` print it (rich markup)."""
    where = f"{p.file}:{p.line}" if p.line else p.file
    return (
        f"[yellow]warning[/] {shown(where)} {shown(p.key)}: {shown(p.message)}\n"
        f"    fix: {shown(p.fix)}"
    )


def preflight_json(
    checks: list[HostCheck], env: str, expiring: list[Problem] | None = None
) -> dict[str, Any]:
    """`ilag preflight --json`."""
    return {
        "env": env,
        "ok": all(c.ok for c in checks),
        # Warnings only (the SAS, the CA keys): `ok` does not depend on them.
        "expiry_warnings": [asdict(p) for p in expiring or []],
        "hosts": [
            {
                "municipality": c.host.municipality,
                "host": c.host.name,
                "address": c.host.address,
                "port": c.host.port,
                "host_key": c.host_key,
                "python3": c.python3,
                "sudo": c.sudo,
                "free_mib": c.free_mib,
                "clock_skew_s": c.skew_s,
                "ok": c.ok,
                "problems": [redact_text(p) for p in c.problems],
                "warnings": [asdict(w) for w in c.warnings],
            }
            for c in checks
        ],
    }
