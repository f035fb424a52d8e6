"""`ilag report`: the overview (index.html) and a page per municipality (<slug>.html) from
region.yaml, run records, costs and the plan; optionally the overview printed to report.pdf."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
from ilag_infra.report import health, history, labels, svg, verdict
from ilag_infra.report.costview import CostView
from ilag_infra.report.records import Records, RunRecord

TEMPLATE = "report.html.j2"
MUNICIPALITY_TEMPLATE = "municipality.html.j2"
LAB = "lab"
PDF_NAME = "report.pdf"
# The backup timer runs daily; the same window as every other place that ages backups.
BACKUP_MAX_AGE = FRESHNESS["backup"]


@dataclass(frozen=True)
class Finding:
    policy: str
    resource: str
    message: str
    enforcement: str
    lang: str = "en"  # the plan's messages are technical English; expiry's are the page's


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
    verdict: str = ""
    history: list[history.Series] = field(default_factory=list)


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
    # Credentials that run out or get old soon (report/expiry_findings.py), shown with the
    # findings whether or not the plan ran.
    expiry: list[Finding] = field(default_factory=list)
    systems: Any = None  # a systems_data.SystemsView, when there is a systems register
    # Lab results on the page: the page says so in a banner on every view and printed page.
    lab: bool = False


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
    expiry: list[Finding] | None = None,
) -> PageData:
    now = now or datetime.now(UTC)
    region = loaded.model
    records = without_lab(records)
    t = labels.LABELS[lang]
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
                verdict.line(overall(c, b, r), c, b, r, lang),
                [
                    history.backups(records, m.slug, now, lang),
                    history.drift(records, m.slug, now, lang),
                ],
            )
        )
    states = {v.slug: v.overall for v in views}
    hub_state = health.MISSING
    expiring = expiry or []
    if findings is not None or expiring:
        listed = (findings or []) + expiring
        hub_state = (
            health.BAD
            if any(f.enforcement == "mandatory" for f in listed)
            else (health.WARN if listed else health.OK)
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
    detail = f"{len(records.records)} {t['records']} ({records.root})"
    if records.unreadable:
        detail += f"; {len(records.unreadable)} {t['records_unreadable']}"
    if records.rejected:
        # The file names only: the schema's reasons are technical English, and
        # `ilag report` prints each in full.
        names = [Path(r.split(": ", 1)[0]).name for r in records.rejected[:3]]
        more = ", …" if len(records.rejected) > 3 else ""
        detail += f"; {len(records.rejected)} {t['records_rejected']} ({', '.join(names)}{more})"
    if records.other_environments:
        detail += f"; {records.other_environments} {t['records_other_env']}"
    sources = [
        Source("region.yaml", str(loaded.path), _mtime(Path(loaded.path))),
        Source("runs/", detail, records.newest),
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
        sources.append(Source("ilag plan", f"{len(findings)} {t['findings_count']}", now))
    environments = [records.environment] if records.environment else records.environments
    return PageData(
        lang=lang,
        region_name=region.region.display_name,
        generated=now,
        environments=environments,
        municipalities=views,
        picture=svg.region_picture(region, states, hub_state),
        costs=costs,
        chart=chart,
        findings=findings,
        sources=sources,
        systems=systems,
        lab=LAB in environments,
        expiry=expiring,
    )


def without_lab(records: Records) -> Records:
    """A page for an environment other than lab never shows a lab record, whatever the source
    let through: each one is dropped here and counted with the other environments."""
    if not records.environment or records.environment == LAB:
        return records
    kept: list[RunRecord] = [r for r in records.records if r.environment != LAB]
    dropped = len(records.records) - len(kept)
    if not dropped:
        return records
    return replace(records, records=kept, other_environments=records.other_environments + dropped)


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def _text(value: object) -> object:
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return controls_escaped(value, keep="\n\t")
    return value


def _environment(page: PageData) -> str:
    t = labels.LABELS[page.lang]
    names = {"lab": t["env_lab"], "prod": t["env_prod"]}
    return ", ".join(names.get(e, e) for e in page.environments)


def css_string(value: object) -> markupsafe.Markup:
    """Text for inside a CSS string: every character but letters, digits and spaces as a CSS
    escape, so a name from region.yaml can neither end the string nor the style element."""
    out = []
    for ch in str(value):
        out.append(ch if ch.isalnum() or ch == " " else f"\\{ord(ch):x} ")  # the space ends it
    return markupsafe.Markup("".join(out))


def render(page: PageData, municipality: MunicipalityView | None = None) -> str:
    """The overview, or with `municipality` that municipality's own page."""
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
    env.filters["when"] = lambda value: labels.when(value, page.lang)
    env.filters["month"] = lambda key: labels.month(str(key), page.lang, short=False)
    env.filters["duration"] = lambda seconds: labels.duration(seconds, page.lang)
    env.filters["money"] = lambda amount, currency: labels.money(
        Decimal(amount), currency, page.lang
    )
    env.filters["css_string"] = css_string
    env_text = _environment(page)
    common = {
        "p": page,
        "t": t,
        "env_text": env_text,
        "print_head": f"{t['title']}: {page.region_name} · {t['environment']}: {env_text} · "
        + labels.when(page.generated, page.lang),
        "names": {m.slug: m.name for m in page.municipalities},
    }
    if municipality is not None:
        return env.get_template(MUNICIPALITY_TEMPLATE).render(**common, m=municipality)
    return env.get_template(TEMPLATE).render(
        **common,
        how_to_read=labels.HOW_TO_READ[page.lang],
        key_text=labels.key_text(page.costs.key_description, page.lang) if page.costs else "",
    )


def write(page: PageData, out: Path, pdf: bool = False) -> Path:
    """index.html and <slug>.html per municipality in `out` (and report.pdf with `pdf`);
    a directory that cannot be made or written is bad input. Returns index.html."""
    # Rendered before touching the disk: a failure leaves nothing half-written.
    files = {"index.html": render(page)}
    for m in page.municipalities:
        files[f"{m.slug}.html"] = render(page, m)
    target = out / "index.html"
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, html in files.items():
            (out / name).write_text(html, encoding="utf-8")
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
    if pdf:
        from ilag_infra.report.recovery_plan import PdfError, chromium, print_pdf

        if chromium() is None:
            raise PdfError(
                "chromium is not installed (make setup installs Debian's chromium package); "
                f"the HTML pages are written in {out}"
            )
        print_pdf(target, out / PDF_NAME)
    return target
