"""`ilag recovery-plan`: one municipality's backup and recovery plan in bokmål, written from
the systems register, the code and the run records, as HTML and (headless Chromium) PDF.

Nothing in the plan is typed in by hand: each figure names the record or file it comes from
and its date, and where there is no evidence the plan says so.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from ilag_infra.model import backupset, naming
from ilag_infra.model.errors import IlagError
from ilag_infra.model.region import LoadedRegion
from ilag_infra.model.systems import CRITICALITY_ORDER
from ilag_infra.report import health, labels
from ilag_infra.report.risk import Threat
from ilag_infra.report.systems import NO, PARTLY, SystemStatus
from ilag_infra.report.systems_data import SystemsView

TEMPLATE = "recovery_plan.html.j2"
CRITICALITY_NB = {"critical": "kritisk", "high": "høy", "medium": "middels", "low": "lav"}
RUNS_NB = {"onsite": "lokalt", "saas": "SaaS", "azure": "Azure"}
# No network for the browser: every name resolves to nothing and any request that got past
# that would go to a closed port on loopback. The plan is one self-contained file.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--no-pdf-header-footer",
]


class PdfError(IlagError):
    """The PDF could not be printed (Chromium missing or failing); the HTML is written."""


@dataclass(frozen=True)
class Gap:
    system: str
    text: str


@dataclass
class Plan:
    slug: str
    name: str
    kommunenummer: str
    generated: datetime
    example: bool
    rows: list[SystemStatus]
    risks: dict[str, list[Threat]]
    backup_sets: dict[str, list[str]]
    schedule: str
    check_schedule: str
    retention: str
    immutability_days: int
    storage: str
    container: str
    restore_roles: str
    region_operator: str
    code_date: datetime | None
    backup_time: datetime | None
    backup_source: str
    drill: health.Section
    restore: health.Section
    gaps: list[Gap] = field(default_factory=list)


def _gaps(rows: list[SystemStatus], risks: dict[str, list[Threat]]) -> list[Gap]:
    out = []
    for r in rows:
        name = r.system.name
        if r.backed_up in (NO, PARTLY):
            missing = ", ".join(
                f"{p.host}:{p.path} ({detail_nb(p.detail)})" for p in r.paths if not p.backed_up
            )
            out.append(Gap(name, f"Data er ikke bekreftet sikkerhetskopiert: {missing}"))
        if r.placement.runs == "onsite":
            if r.restore_verified is None:
                out.append(Gap(name, "Ingen verifisert gjenoppretting av systemets servere"))
            if r.rto.measured is None:
                out.append(Gap(name, "Ingen øvelse har målt gjenopprettingstiden (RTO)"))
            elif r.rto.met is False:
                out.append(
                    Gap(name, f"Øvelsen brukte {labels.duration(r.rto.measured)}, over målet "
                        f"{labels.duration(r.rto.target)}")
                )  # fmt: skip
            if r.rpo.met is False and r.rpo.measured is not None:
                out.append(
                    Gap(name, f"Datatap ved øvelsen {labels.duration(r.rpo.measured)}, over "
                        f"målet {labels.duration(r.rpo.target)}")
                )  # fmt: skip
        else:
            out.append(
                Gap(name, f"Kjører som {RUNS_NB[r.placement.runs]}: plattformen har ingen "
                    "evidens for kopi eller gjenoppretting; avklar med leverandøren")
            )  # fmt: skip
        if not r.harmonised:
            out.append(
                Gap(name, f"Ikke harmonisert: bruker {r.placement.product}, valgt felles "
                    f"system er {r.system.harmonisation.product} innen "
                    f"{r.system.harmonisation.by.isoformat()}")
            )  # fmt: skip
        for t in risks[r.system.id]:
            if t.residual == "høy":
                out.append(Gap(name, f"Høy restrisiko: {t.name}"))
    return out


def build(
    root: Path, loaded: LoadedRegion, view: SystemsView, slug: str, now: datetime | None = None
) -> Plan:
    m = loaded.model.municipality(slug)
    rows = sorted(
        [r for r in view.rows if r.slug == slug],
        key=lambda r: (CRITICALITY_ORDER[r.system.criticality], r.system.rto_hours, r.system.id),
    )
    risks = {r.system.id: view.risks(r) for r in rows}
    defaults = backupset.role_defaults(root)
    keep = m.backup_retention or loaded.model.region.backup_retention
    if m.backup_retention is not None:
        keep = m.backup_retention.over(loaded.model.region.backup_retention)
    backup_rec = view.records.latest("backup", slug)
    region = loaded.model.region
    return Plan(
        slug=slug,
        name=m.name,
        kommunenummer=m.kommunenummer,
        generated=now or datetime.now(UTC),
        example=view.register.register.example,
        rows=rows,
        risks=risks,
        backup_sets=view.backup_sets.get(slug, {}),
        schedule=f"{defaults.get('backup_agent__on_calendar')} "
        f"(+ inntil {defaults.get('backup_agent__randomized_delay')})",
        check_schedule=str(defaults.get("backup_agent__check_on_calendar", "")),
        retention=keep.describe() if keep else "ingen regler",
        immutability_days=view.platform.immutability_days,
        storage=f"Azure Blob Storage, {region.location} (geo-kopi i {region.location_pair})",
        container=naming.container_name(slug),
        restore_roles=view.platform.who_restores(slug),
        region_operator=region.display_name,
        code_date=view.platform.code_date,
        backup_time=backup_rec.time if backup_rec else None,
        backup_source=backup_rec.path.name if backup_rec else "",
        drill=health.drill(view.records, slug, now or datetime.now(UTC)),
        restore=health.restore(view.records, slug, now or datetime.now(UTC)),
        gaps=_gaps(rows, risks),
    )


_DETAIL_NB = {
    "in the newest snapshot": "i siste sikkerhetskopi",
    "not in the newest snapshot": "ikke i siste sikkerhetskopi",
    "not in the host's backup set": "ikke i serverens kopisett",
    "no backup record for the host": "ingen kopiregistrering for serveren",
    "in the backup set; last backup ok": "i kopisettet; siste kopi vellykket",
}


def detail_nb(detail: str) -> str:
    if detail.startswith("last backup "):
        return "siste kopi: " + detail.removeprefix("last backup ")
    return _DETAIL_NB.get(detail, detail)


def _when(t: datetime | None) -> str:
    # Norwegian time, as on the council's page: the plan is read by people, not by logs.
    return labels.when(t) if t else "ingen registrering"


def render(plan: Plan) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ilag_infra.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["nb"] = detail_nb
    env.filters["duration"] = labels.duration
    helpers: dict[str, Any] = {"CRIT": CRITICALITY_NB, "RUNS": RUNS_NB}
    return env.get_template(TEMPLATE).render(plan=plan, **helpers)


def chromium() -> str | None:
    return shutil.which("chromium")


def print_pdf(html: Path, pdf: Path, browser: str | None = None) -> Path:
    """Print the HTML to PDF with headless Chromium (Debian's chromium package)."""
    browser = browser or chromium()
    if browser is None:
        raise PdfError(
            "chromium is not installed (make setup installs Debian's chromium package); "
            f"the HTML plan is at {html}"
        )
    profile = pdf.parent / ".chromium-profile"
    try:
        run = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--print-to-pdf={pdf}", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if run.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]
        raise PdfError(f"chromium could not print {html} to PDF: {tail[:300]}")
    return pdf


def write(plan: Plan, out: Path, pdf: bool = True) -> list[Path]:
    """Write <out>/gjenopprettingsplan-<slug>.html (and .pdf); return the files written."""
    text = render(plan)  # before touching the disk: a failure leaves nothing half-written
    out.mkdir(parents=True, exist_ok=True)
    html = out / f"gjenopprettingsplan-{plan.slug}.html"
    html.write_text(text, encoding="utf-8")
    written = [html]
    if pdf:
        written.append(print_pdf(html, html.with_suffix(".pdf")))
    return written
