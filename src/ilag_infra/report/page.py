"""`ilag report`: one static page (index.html) from region.yaml, run records, costs and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from ilag_infra.model.errors import InputError, Problem
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.shown import controls_escaped
from ilag_infra.onsite.recordschema import FRESHNESS
from ilag_infra.report import health, labels, svg
from ilag_infra.report.costview import CostView
from ilag_infra.report.records import Records

TEMPLATE = "report.html.j2"
# The backup timer runs daily; the same window as every other place that ages backups.
BACKUP_MAX_AGE = FRESHNESS["backup"]


@dataclass(frozen=True)
class Finding:
    policy: str
    resource: str
    message: str
    enforcement: str


@dataclass
class MunicipalityView:
    slug: str
    name: str
    kommunenummer: str
    converge: health.Section
    backups: health.Section
    restore: health.Section
    drill: health.Section
    overall: str
    cost: Any = None  # CostLine or None


@dataclass
class Source:
    name: str
    detail: str
    time: datetime | None


@dataclass
class PageData:
    lang: str
    region_name: str
    generated: datetime
    environments: list[str]
    municipalities: list[MunicipalityView]
    picture: svg.RegionPicture
    costs: CostView | None
    chart: svg.BarChart | None
    findings: list[Finding] | None
    sources: list[Source] = field(default_factory=list)
    systems: Any = None  # a systems_data.SystemsView, when there is a systems register


def overall(*sections: health.Section) -> str:
    """The colour of a municipality: the worst known answer; grey only when nothing is known."""
    known = [s.state for s in sections if s.state != health.MISSING]
    return health.worst(*known) if known else health.MISSING


def build(
    loaded: LoadedRegion,
    records: Records,
    costs: CostView | None,
    findings: list[Finding] | None,
    lang: str = "nb",
    now: datetime | None = None,
    systems: Any = None,
) -> PageData:
    now = now or datetime.now(UTC)
    region = loaded.model
    views = []
    for m in region.municipalities:
        c = health.converge(records, m.slug, now)
        b = health.backups(records, m.slug, now, BACKUP_MAX_AGE)
        r = health.restore(records, m.slug, now)
        d = health.drill(records, m.slug, now)
        views.append(
            MunicipalityView(
                m.slug,
                m.name,
                m.kommunenummer,
                c,
                b,
                r,
                d,
                overall(c, b, r),
                costs.lines.get(m.slug) if costs else None,
            )
        )
    states = {v.slug: v.overall for v in views}
    hub_state = health.MISSING
    if findings is not None:
        hub_state = (
            health.BAD
            if any(f.enforcement == "mandatory" for f in findings)
            else (health.WARN if findings else health.OK)
        )
    chart = None
    if costs:
        chart = svg.bar_chart(
            [
                (v.name, v.cost.direct, v.cost.shared, labels.money(v.cost.total, costs.currency, lang))
                for v in views
                if v.cost is not None
            ]
        )  # fmt: skip
    sources = [
        Source("region.yaml", str(loaded.path), _mtime(Path(loaded.path))),
        Source(
            "runs/",
            f"{len(records.records)} {labels.LABELS[lang]['records']} ({records.root})"
            + (f"; {len(records.unreadable)} unreadable" if records.unreadable else "")
            + (
                f"; {len(records.rejected)} not read by the record schema: "
                + " | ".join(records.rejected[:3])
                if records.rejected
                else ""
            )
            + (
                f"; {records.other_environments} of other environments left out"
                if records.other_environments
                else ""
            ),
            records.newest,
        ),
    ]
    if costs:
        sources.append(
            Source(
                labels.LABELS[lang]["cost"],
                f"{costs.period}: " + ", ".join(costs.sources),
                costs.source_time,
            )
        )
    if findings is not None:
        sources.append(Source("ilag plan", f"{len(findings)} findings", now))
    return PageData(
        lang=lang,
        region_name=region.region.display_name,
        generated=now,
        environments=[records.environment] if records.environment else records.environments,
        municipalities=views,
        picture=svg.region_picture(region, states, hub_state),
        costs=costs,
        chart=chart,
        findings=findings,
        sources=sources,
        systems=systems,
    )


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _text(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return controls_escaped(value, keep="\n\t")
    return value


def render(page: PageData) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ilag_infra.report", "templates"),
        autoescape=True,
        # Autoescape makes a value's markup text; control characters (not allowed in HTML)
        # from a user's file are shown as their escapes.
        finalize=_text,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    t = labels.LABELS[page.lang]
    env.filters["when"] = labels.when
    env.filters["money"] = lambda amount, currency: labels.money(
        Decimal(amount), currency, page.lang
    )
    return env.get_template(TEMPLATE).render(
        p=page, t=t, key_text=labels.key_text(page.costs.key_description, page.lang)
        if page.costs else ""
    )  # fmt: skip


def write(page: PageData, out: Path) -> Path:
    """index.html in `out`; a directory that cannot be made or written is bad input."""
    html = render(page)  # before touching the disk: a failure leaves nothing half-written
    target = out / "index.html"
    try:
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        what = "is a file, not a directory" if out.is_file() else exc.strerror or str(exc)
        raise InputError(
            [
                Problem(
                    "(command line)",
                    "--out",
                    f"cannot write {target.name} in {out} ({what})",
                    "give --out a directory you can write, e.g. --out build/report",
                )
            ]
        ) from None
    return target
