"""`ilag records`: the region's run records from the shared store, each result aged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ilag_infra.cli.context import Context
from ilag_infra.cli.options import EnvOption, JsonOption, Municipalities
from ilag_infra.model.errors import InputError, Problem

KindOption = Annotated[
    str | None,
    typer.Option("--kind", "-k", help="Only this kind (apply, check, backup, restore, drill, "
                 "audit, drift, alert, prune)."),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    @app.command("records")
    def records_cmd(
        municipalities: Municipalities = None,
        kind: KindOption = None,
        as_json: JsonOption = False,
        env: EnvOption = "lab",
    ) -> None:
        """List run records from the region's record store (ILAG_RECORDS_URL), newest last,
        then the latest result of each check per municipality, aged by its window: OK, Obs
        (older than its window), Feil (failed, or older than twice its window) or Mangler
        (none). Without a store configured, lists this machine's runs/ and says so.

        Examples:
          ilag records
          ilag records --kind backup bo --json
        """
        from ilag_infra.onsite import recordschema, recordstore
        from ilag_infra.onsite.runrecord import runs_dir
        from ilag_infra.report import health
        from ilag_infra.report.labels import LABELS

        if kind is not None and kind not in recordschema.KINDS:
            raise InputError(
                [
                    Problem(
                        "(command line)",
                        "--kind",
                        f"unknown kind {kind!r}",
                        f"use one of: {', '.join(recordschema.KINDS)}",
                    )
                ]
            )
        ctx = Context(env, json=as_json)
        out = ctx.console
        slugs = ctx.slugs(municipalities, all_=not municipalities)
        url = recordstore.store_url()
        if url is None:
            out.print(
                f"[yellow]note:[/] no record store configured ({recordstore.STORE_ENV}); "
                f"listing this machine's {runs_dir(ctx.root)} only",
                highlight=False,
            )
            found = recordstore.list_local(runs_dir(ctx.root), ctx.env, slugs, kind)
        else:
            # Records queued here while the store was away go up first, so they list too.
            sent = recordstore.flush(runs_dir(ctx.root))
            if sent.uploaded or sent.waiting:
                out.print(
                    f"uploaded {sent.uploaded} queued record(s); {sent.waiting} still waiting"
                    + (f" ({sent.error})" if sent.error else ""),
                    highlight=False,
                    markup=False,
                )
            found = recordstore.list_records(url, ctx.env, slugs, kind)
        now = datetime.now(UTC)
        good = [s for s in found if s.record is not None]
        good.sort(key=lambda s: (s.record.time if s.record else now, s.name))
        kinds = [kind] if kind else list(recordschema.FRESHNESS)
        latest: list[dict[str, Any]] = []
        for slug in slugs:
            for k in kinds:
                mine = [s.record for s in good if s.record and s.record.municipality == slug
                        and s.record.kind == k]  # fmt: skip
                rec = mine[-1] if mine else None
                state = health.judged(k, rec, now)
                latest.append(
                    {
                        "municipality": slug,
                        "kind": k,
                        "state": state,
                        "word": LABELS["nb"][state],
                        "time": rec.time.isoformat() if rec else None,
                        "ok": rec.ok if rec else None,
                        "window_hours": (
                            recordschema.FRESHNESS[k].total_seconds() / 3600
                            if k in recordschema.FRESHNESS
                            else None
                        ),
                    }
                )
        rejected = [{"name": s.name, "error": s.error} for s in found if s.record is None]
        if as_json:
            doc = {
                "env": ctx.env,
                "store": "blob" if url else "local",
                "records": [
                    {"name": s.name, **s.record.model_dump(mode="json")} for s in good if s.record
                ],
                "latest": latest,
                "not_read": rejected,
            }
            typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
            return
        t = Table(title=f"Run records ({ctx.env})")
        for col in ("Time", "Municipality", "Kind", "Result", "Who", "Name"):
            t.add_column(col, overflow="fold")
        for s in good:
            r = s.record
            assert r is not None
            t.add_row(
                r.time.strftime("%Y-%m-%d %H:%M"),
                r.municipality,
                r.kind,
                "[green]ok[/]" if r.ok else "[bold red]failed[/]",
                escape(r.who),
                escape(s.name),
            )
        out.print(t)
        style = {"ok": "green", "warn": "yellow", "bad": "bold red", "missing": "dim"}
        summary = Table(title="Latest result per check, aged by its window")
        for col in ("Municipality", "Kind", "State", "When"):
            summary.add_column(col)
        for row in latest:
            summary.add_row(
                row["municipality"],
                row["kind"],
                f"[{style[row['state']]}]{row['word']}[/]",
                row["time"] or "–",
            )
        out.print(summary)
        for bad in rejected:
            out.print(f"[yellow]not read:[/] {escape(str(bad['error']))}", highlight=False)
