"""`ilag audit`: the security baseline, checked live on every host, read-only."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ilag_infra.cli import alerting
from ilag_infra.cli.context import Context
from ilag_infra.cli.options import (
    AllOption,
    EnvOption,
    JsonOption,
    LimitOption,
    Municipalities,
)
from ilag_infra.model.errors import EXIT_FAILED
from ilag_infra.model.shown import shown

STYLE = {
    "pass": "[green]pass[/]",
    "fail": "[bold red]FAIL[/]",
    "n/a": "[yellow]n/a[/]",
    "off": "[dim]off[/]",
}


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit_cmd(
        municipalities: Municipalities = None,
        all_: AllOption = False,
        limit: LimitOption = None,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """Check every control of the security baseline on every host, live and read-only.

        Connects with the pinned host keys only and asks the running system: sshd's effective
        settings (sshd -T), sysctl values in force, modprobe's answer for blacklisted modules,
        the loaded audit rules, the session's umask and core limit, file modes, packages.
        Each host is judged against the baseline role's settings for it (role defaults, then
        group_vars and host_vars), never below the published benchmarks the controls cite.
        Prints one table per municipality (pass, FAIL, n/a with the reason where a container
        cannot hold the state, or off where the settings turn a control off). Changes nothing; safe on production. Exit 1 if any
        control fails or a host cannot be checked.

        Examples:
          ilag audit andoy
          ilag audit --all --env prod --json
        """
        from ilag_infra.onsite import audit, auditrecord

        ctx = Context(env, json=as_json)
        out, target = ctx.console, ctx.target
        slugs = ctx.slugs(municipalities, all_)
        alert_settings = alerting.settings()
        results = audit.audit(target, slugs, limit)
        ok = all(r.ok for r in results)
        records = auditrecord.write_records(target.repo_root, target.env, slugs, results)
        if as_json:
            doc = {
                "env": target.env,
                "ok": ok,
                "hosts": [
                    {
                        "municipality": r.host.municipality,
                        "host": r.host.name,
                        "container": r.in_container,
                        "ok": r.ok,
                        "error": r.error,
                        "controls": [f.to_dict() for f in r.findings],
                    }
                    for r in results
                ],
            }
            typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        else:
            for slug in slugs:
                rows = [r for r in results if r.host.municipality == slug]
                t = Table(title=f"Security baseline: {slug} ({target.env})")
                for col in ("Control", "Host", "Result", "Evidence"):
                    t.add_column(col, overflow="fold")
                for r in rows:
                    if r.error:
                        t.add_row("connection", shown(r.host.name), STYLE["fail"], shown(r.error))
                for cid in audit.CONTROL_IDS:
                    for r in rows:
                        for f in r.findings:
                            if f.control.id == cid:
                                t.add_row(
                                    cid, shown(r.host.name), STYLE[f.verdict], shown(f.evidence)
                                )
                out.print(t)
            failed = [
                (r.host.name, f.control.id)
                for r in results
                for f in r.findings
                if f.verdict == "fail"
            ]
            for name, control in failed:
                out.print(f"[bold red]FAIL[/] {shown(name)}: {control}")
            for r in results:
                if r.error:
                    out.print(f"[bold red]FAIL[/] {shown(r.host.name)}: {shown(r.error)}")
            counts = {v: sum(f.verdict == v for r in results for f in r.findings) for v in STYLE}
            out.print(
                f"{len(results)} host(s), {len(audit.CONTROLS)} controls: "
                f"{counts['pass']} pass, {counts['fail']} fail, {counts['n/a']} n/a, "
                f"{counts['off']} off by settings"
            )
            if records:
                out.print(
                    f"[dim]{len(records)} run record(s) in {shown(str(records[0].parent))}[/]"
                )
        alerted = alerting.after_check(ctx.root, records, alert_settings, out)
        if not ok or not alerted:
            raise typer.Exit(EXIT_FAILED)
