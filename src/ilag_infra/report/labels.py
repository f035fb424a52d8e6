"""The page's words in Norwegian bokmål (the default) and English."""

from __future__ import annotations

from decimal import Decimal

LANGS = ("nb", "en")

LABELS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Driftsrapport",
        "intro": "Status for den felles plattformen: servere, sikkerhetskopier, gjenopprettingstester og kostnader per kommune.",
        "generated": "Laget",
        "environment": "Miljø",
        "picture": "Regionen",
        "picture_desc": "Navet i Azure, de fem kommunene, deres lokasjoner og VPN-forbindelser, farget etter helse.",
        "hub": "Nav",
        "municipality": "Kommune",
        "servers": "Servere i ønsket tilstand",
        "last_run": "Siste kjøring",
        "backups": "Sikkerhetskopier",
        "restore": "Siste gjenopprettingstest",
        "drill": "Siste beredskapsøvelse",
        "rto": "RTO (tid til data er tilbake)",
        "rpo": "RPO (data som kan gå tapt)",
        "cost": "Kostnad",
        "direct": "Direkte",
        "shared": "Felles",
        "total": "Sum",
        "host": "Server",
        "state": "Status",
        "when": "Når",
        "no_record": "ingen registrering ennå",
        "no_hosts": "ingen servere i registreringen",
        "ok": "OK",
        "warn": "Obs",
        "bad": "Feil",
        "missing": "Mangler",
        "fresh": "fersk",
        "stale": "for gammel",
        "failed": "feilet",
        "unreachable": "ikke nåbar",
        "drift": "avvik",
        "changed": "endret",
        "check_run": "kontrollkjøring",
        "partial_run": "delvis kjøring",
        "costs_title": "Kostnadsfordeling",
        "costs_key": "Nøkkel for fellesutgifter",
        "costs_missing": "Ingen kostnadsdata er lagt ved: kostnad vises som mangler, ikke som null.",
        "untagged": "Umerkede kostnader (fordelt som felles; ressursene bør merkes)",
        "chart_desc": "Søylediagram: hver kommunes kostnad for måneden, direkte og felles del.",
        "findings": "Åpne funn fra planen",
        "findings_none": "Ingen åpne funn.",
        "findings_missing": "Planen ble ikke kjørt for denne rapporten.",
        "policy": "Regel",
        "resource": "Ressurs",
        "message": "Funn",
        "sources": "Datakilder",
        "systems": "Fagsystemer",
        "systems_example": "Systemregisteret er et eksempel og sier ingenting om kommunenes faktiske systemer.",
        "harmonisation": "Harmonisering: sektor × kommune",
        "sector": "Sektor",
        "harmonised": "Harmonisert",
        "region_total": "Regionen",
        "risk_table": "Restrisiko per system (ROS)",
        "system": "System",
        "backed_up": "Sikkerhetskopiert",
        "source": "Kilde",
        "source_time": "Tidspunkt",
        "records": "kjøringsregistreringer",
        "period": "Periode",
        "chart_reason": "Diagrammene er tegnet som SVG direkte i malen: ingen ekstra avhengighet, ingen skript, og tallene står som tekst i siden.",
        "of": "av",
        "summary": "Oversikt",
        "legend": "Forklaring",
        "detail": "Detaljer",
    },
    "en": {
        "title": "Operations report",
        "intro": "State of the shared platform: servers, backups, restore tests and costs per municipality.",
        "generated": "Generated",
        "environment": "Environment",
        "picture": "The region",
        "picture_desc": "The hub in Azure, the five municipalities, their sites and VPN links, coloured by health.",
        "hub": "Hub",
        "municipality": "Municipality",
        "servers": "Servers converged",
        "last_run": "Last run",
        "backups": "Backups",
        "restore": "Last restore test",
        "drill": "Last disaster-recovery drill",
        "rto": "RTO (time to data back)",
        "rpo": "RPO (data that may be lost)",
        "cost": "Cost",
        "direct": "Direct",
        "shared": "Shared",
        "total": "Total",
        "host": "Server",
        "state": "State",
        "when": "When",
        "no_record": "no record yet",
        "no_hosts": "no servers in the record",
        "ok": "OK",
        "warn": "Attention",
        "bad": "Failed",
        "missing": "Missing",
        "fresh": "fresh",
        "stale": "stale",
        "failed": "failed",
        "unreachable": "unreachable",
        "drift": "drift",
        "changed": "changed",
        "check_run": "check run",
        "partial_run": "partial run",
        "costs_title": "Cost split",
        "costs_key": "Key for shared costs",
        "costs_missing": "No cost data was given: costs show as missing, not as zero.",
        "untagged": "Untagged costs (charged as shared; tag the resources)",
        "chart_desc": "Bar chart: each municipality's cost for the month, direct and shared parts.",
        "findings": "Open findings from the plan",
        "findings_none": "No open findings.",
        "findings_missing": "The plan was not run for this report.",
        "policy": "Rule",
        "resource": "Resource",
        "message": "Finding",
        "sources": "Data sources",
        "systems": "Line-of-business systems",
        "systems_example": "The systems register is an example and states nothing about the municipalities' real systems.",
        "harmonisation": "Harmonisation: sector × municipality",
        "sector": "Sector",
        "harmonised": "Harmonised",
        "region_total": "Region",
        "risk_table": "Residual risk per system (ROS)",
        "system": "System",
        "backed_up": "Backed up",
        "source": "Source",
        "source_time": "Time",
        "records": "run records",
        "period": "Period",
        "chart_reason": "The charts are SVG drawn by the template itself: no extra dependency, no script, and every figure is text in the page.",
        "of": "of",
        "summary": "Summary",
        "legend": "Legend",
        "detail": "Detail",
    },
}

# Cost-key descriptions come from the model in English; the page shows them in bokmål too.
_KEY_NB = {
    "split equally": "likt fordelt",
    "by population": "etter innbyggertall",
}


def key_text(description: str, lang: str) -> str:
    if lang != "nb":
        return description
    text = description.replace("split equally", "fordeles likt").replace(
        "by population", "etter innbyggertall"
    )
    return _KEY_NB.get(description, text)


def money(amount: Decimal, currency: str, lang: str) -> str:
    """1 257,76 kr (bokmål) or NOK 1,257.76 (English); non-breaking spaces keep it one piece."""
    if lang == "nb":
        text = f"{amount:,.2f}".replace(",", "\u00a0").replace(".", ",")
        return f"{text}\u00a0kr" if currency == "NOK" else f"{text}\u00a0{currency}"
    return f"{currency}\u00a0{amount:,.2f}"


def when(value: object) -> str:
    from datetime import datetime

    if not isinstance(value, datetime):
        return ""
    return value.strftime("%Y-%m-%d %H:%M UTC")
