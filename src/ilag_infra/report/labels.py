"""The page's words in Norwegian bokmål (the default) and English."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

LANGS = ("nb", "en")

LABELS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Driftsrapport",
        "intro": "Status for den felles IT-plattformen per kommune: servere, sikkerhetskopier, tester av gjenoppretting, beredskapsøvelser og kostnader.",
        "generated": "Laget",
        "environment": "Miljø",
        "env_lab": "lab (testmiljø)",
        "env_prod": "produksjon",
        "lab_banner": "Lab – ikke produksjon",
        "lab_banner_text": "Tallene på denne siden kommer fra testmiljøet og sier ingenting om kommunenes faktiske drift.",
        "times": "Alle tidspunkter er norsk tid (Europe/Oslo).",
        "picture": "Regionen",
        "picture_desc": "Det felles knutepunktet i Azure, de fem kommunene, driftsstedene deres og de sikre forbindelsene (VPN) mellom dem, farget etter status.",
        "hub": "Felles knutepunkt i Azure",
        "hub_short": "Knutepunkt",
        "municipality": "Kommune",
        "verdict": "Vurdering",
        "servers": "Servere i ønsket tilstand",
        "last_run": "Siste kjøring",
        "backups": "Sikkerhetskopier",
        "taken_last_day": "tatt siste døgn",
        "restore": "Siste gjenopprettingstest",
        "drill": "Siste beredskapsøvelse",
        "rto": "RTO (hvor lang tid det tar å få tjenesten tilbake)",
        "rpo": "RPO (hvor mye data som kan gå tapt)",
        "cost": "Kostnad",
        "direct": "Direkte",
        "shared": "Felles",
        "total": "Sum",
        "host": "Server",
        "state": "Status",
        "when": "Tidspunkt",
        "no_record": "ikke registrert",
        "no_hosts": "ingen servere i registreringen",
        "ok": "OK",
        "warn": "Obs",
        "bad": "Feil",
        "missing": "Mangler",
        "fresh": "tatt siste døgn",
        "stale": "for gammel",
        "failed": "feilet",
        "unreachable": "ikke tilgjengelig",
        "not installed": "ikke installert",
        "unreadable": "kunne ikke leses",
        "verified": "kontrollert",
        "drift": "avvik",
        "changed": "endret",
        "check_run": "kontrollkjøring",
        "partial_run": "delvis kjøring",
        "costs_title": "Kostnadsfordeling",
        "costs_key": "Fordelingsnøkkel for felleskostnader",
        "costs_missing": "Ingen kostnadsdata er lagt ved. Kostnaden vises derfor som «Mangler», ikke som null.",
        "untagged": "Kostnader uten kommunemerking (fordelt som felleskostnader; ressursene bør merkes)",
        "chart_desc": "Søylediagram: hver kommunes kostnad for måneden, fordelt på direkte og felles del.",
        "findings": "Åpne funn i oppsettet i Azure",
        "findings_none": "Ingen åpne funn.",
        "findings_missing": "Kontrollen av oppsettet i Azure ble ikke kjørt for denne rapporten.",
        "findings_note": "Funnene kommer fra de automatiske kontrollene av oppsettet i Azure. Meldingene er tekniske og står på engelsk; IT-driften følger dem opp.",
        "expiry_note": "Utløp og alder (regel «expiry») står på norsk: tilganger og nøkler som går ut eller blir for gamle innen varslingsfristen.",
        "expiry_sas": "Tilgangen som sikkerhetskopiene skrives med (SAS, {subject}), går ut {day}, om {left} dager. Etter det feiler alle sikkerhetskopier.",
        "expiry_sas_out": "Tilgangen som sikkerhetskopiene skrives med (SAS, {subject}), gikk ut {day}: alle sikkerhetskopier feiler nå.",
        "expiry_ca": "Nøkkelen som signerer teknikernes SSH-sertifikater ({subject}), når største tillatte alder ({max_age} dager) {day}, om {left} dager, og bør byttes.",
        "expiry_ca_out": "Nøkkelen som signerer teknikernes SSH-sertifikater ({subject}), nådde største tillatte alder ({max_age} dager) {day} og må byttes.",
        "expiry_ca_undated": "Nøkkelen som signerer teknikernes SSH-sertifikater ({subject}), har ingen dato i oppsettet, så ingen varsler før den blir for gammel.",
        "expiry_node": "SSH-sertifikatet til noden {subject} går ut {day}, om {left} dager.",
        "expiry_node_out": "SSH-sertifikatet til noden {subject} gikk ut {day}: nodens kontroller kommer ikke lenger inn på serverne.",
        "expiry_fix": "Slik rettes det",
        "severity": "Alvor",
        "must_fix": "Må rettes",
        "should_fix": "Bør rettes",
        "findings_count": "funn",
        "policy": "Regel",
        "resource": "Ressurs",
        "message": "Funn",
        "sources": "Datakilder",
        "systems": "Fagsystemer",
        "systems_example": "Systemregisteret er et eksempel og sier ingenting om kommunenes faktiske systemer.",
        "harmonisation": "Samordning: sektor × kommune",
        "sector": "Sektor",
        "harmonised": "Samordnet",
        "region_total": "Hele regionen",
        "risk_table": "Restrisiko per system (ROS)",
        "system": "System",
        "backed_up": "Sikkerhetskopiert",
        "yes": "ja",
        "partly": "delvis",
        "no": "nei",
        "n/a": "ikke aktuelt",
        "source": "Kilde",
        "source_time": "Tidspunkt",
        "records": "registreringer",
        "records_unreadable": "kunne ikke leses",
        "records_rejected": "har et format rapporten ikke kjenner",
        "records_other_env": "fra andre miljøer er holdt utenfor",
        "period": "Periode",
        "for_period": "for",
        "of": "av",
        "summary": "Oversikt",
        "legend": "Forklaring",
        "detail": "Detaljer",
        "details_per_municipality": "Detaljer per kommune",
        "own_page": "Egen side for",
        "back": "Tilbake til oversikten",
        "all_ok": "Alt i orden",
        "needs_follow_up": "Trenger oppfølging",
        "ok_but": "Det som er registrert, er i orden, men",
        "should_follow_up": "Bør følges opp",
        "unknown": "Ukjent: ingenting er registrert ennå",
        "history": "Utvikling siste 12 måneder",
        "history_backups": "Sikkerhetskopier per måned: kontroller uten feil",
        "history_drift": "Avvik fra ønsket tilstand per måned (antall servere)",
        "history_none": "ingen registreringer",
        "check": "kontroll",
        "checks": "kontroller",
        "history_costs": "Kostnad per måned vises ikke: rapporten får bare kostnadene for én måned om gangen.",
        "how_to_read": "Slik leser du siden",
        "history_latest": "Denne måneden",
    },
    "en": {
        "title": "Operations report",
        "intro": "State of the shared IT platform per municipality: servers, backups, restore tests, disaster-recovery drills and costs.",
        "generated": "Generated",
        "environment": "Environment",
        "env_lab": "lab (test environment)",
        "env_prod": "production",
        "lab_banner": "Lab – not production",
        "lab_banner_text": "The figures on this page come from the test environment and say nothing about the municipalities' real operations.",
        "times": "All times are Norwegian time (Europe/Oslo).",
        "picture": "The region",
        "picture_desc": "The shared hub in Azure, the five municipalities, their sites and the VPN links between them, coloured by state.",
        "hub": "Shared hub in Azure",
        "hub_short": "Hub",
        "municipality": "Municipality",
        "verdict": "Verdict",
        "servers": "Servers in the wanted state",
        "last_run": "Last run",
        "backups": "Backups",
        "taken_last_day": "taken in the last day",
        "restore": "Last restore test",
        "drill": "Last disaster-recovery drill",
        "rto": "RTO (how long it takes to get the service back)",
        "rpo": "RPO (how much data may be lost)",
        "cost": "Cost",
        "direct": "Direct",
        "shared": "Shared",
        "total": "Total",
        "host": "Server",
        "state": "State",
        "when": "Time",
        "no_record": "no record yet",
        "no_hosts": "no servers in the record",
        "ok": "OK",
        "warn": "Attention",
        "bad": "Failed",
        "missing": "Missing",
        "fresh": "taken in the last day",
        "stale": "too old",
        "failed": "failed",
        "unreachable": "unreachable",
        "not installed": "not installed",
        "unreadable": "unreadable",
        "verified": "verified",
        "drift": "drift",
        "changed": "changed",
        "check_run": "check run",
        "partial_run": "partial run",
        "costs_title": "Cost split",
        "costs_key": "Key for shared costs",
        "costs_missing": "No cost data was given: costs show as missing, not as zero.",
        "untagged": "Untagged costs (charged as shared; tag the resources)",
        "chart_desc": "Bar chart: each municipality's cost for the month, direct and shared parts.",
        "findings": "Open findings in the Azure setup",
        "findings_none": "No open findings.",
        "findings_missing": "The check of the Azure setup was not run for this report.",
        "findings_note": "The findings come from the automatic checks of the Azure setup; the IT operators follow them up.",
        "expiry_note": "Expiry and age (rule “expiry”): access and keys that run out or get too old within the warning window.",
        "expiry_sas": "The access the backups are written with (SAS, {subject}) runs out on {day}, in {left} days. After that every backup fails.",
        "expiry_sas_out": "The access the backups are written with (SAS, {subject}) ran out on {day}: every backup fails now.",
        "expiry_ca": "The key that signs the technicians' SSH certificates ({subject}) reaches its maximum age ({max_age} days) on {day}, in {left} days, and should be rotated.",
        "expiry_ca_out": "The key that signs the technicians' SSH certificates ({subject}) reached its maximum age ({max_age} days) on {day} and must be rotated.",
        "expiry_ca_undated": "The key that signs the technicians' SSH certificates ({subject}) has no date in the settings, so nothing warns before it gets too old.",
        "expiry_node": "The SSH certificate of the node {subject} runs out on {day}, in {left} days.",
        "expiry_node_out": "The SSH certificate of the node {subject} ran out on {day}: the node's checks can no longer log in to its servers.",
        "expiry_fix": "Fix",
        "severity": "Severity",
        "must_fix": "Must be fixed",
        "should_fix": "Should be fixed",
        "findings_count": "findings",
        "policy": "Rule",
        "resource": "Resource",
        "message": "Finding",
        "sources": "Data sources",
        "systems": "Line-of-business systems",
        "systems_example": "The systems register is an example and states nothing about the municipalities' real systems.",
        "harmonisation": "Harmonisation: sector × municipality",
        "sector": "Sector",
        "harmonised": "Harmonised",
        "region_total": "Whole region",
        "risk_table": "Residual risk per system (ROS)",
        "system": "System",
        "backed_up": "Backed up",
        "yes": "yes",
        "partly": "partly",
        "no": "no",
        "n/a": "n/a",
        "source": "Source",
        "source_time": "Time",
        "records": "run records",
        "records_unreadable": "unreadable",
        "records_rejected": "in a format the report does not know",
        "records_other_env": "of other environments left out",
        "period": "Period",
        "for_period": "for",
        "of": "of",
        "summary": "Summary",
        "legend": "Legend",
        "detail": "Detail",
        "details_per_municipality": "Detail per municipality",
        "own_page": "Own page for",
        "back": "Back to the summary",
        "all_ok": "All in order",
        "needs_follow_up": "Needs follow-up",
        "ok_but": "What is recorded is in order, but",
        "should_follow_up": "Should be followed up",
        "unknown": "Unknown: nothing is recorded yet",
        "history": "The last 12 months",
        "history_backups": "Backups per month: checks without errors",
        "history_drift": "Drift from the wanted state per month (servers)",
        "history_none": "no records",
        "check": "check",
        "checks": "checks",
        "history_costs": "Cost per month is not shown: the report has the cost of one month at a time.",
        "how_to_read": "How to read this page",
        "history_latest": "This month",
    },
}

# Cost-key descriptions come from the model in English; the page shows them in bokmål too.
_KEY_NB = {
    "split equally": "fordeles likt",
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


OSLO = ZoneInfo("Europe/Oslo")


def when(value: object, lang: str = "nb") -> str:
    """The moment in Norwegian time with its zone (CET or CEST): what the reader's clock said.

    Bokmål writes the time with a full stop (kl. 14.05), as Språkrådet recommends."""
    if not isinstance(value, datetime):
        return ""
    local = value.astimezone(OSLO)
    zone = local.tzname() or "Europe/Oslo"
    if lang == "nb":
        return f"{local.day}.{local.month}.{local.year} kl.\u00a0{local:%H.%M}\u00a0{zone}"
    return f"{local:%Y-%m-%d %H:%M}\u00a0{zone}"


def duration(seconds: float | None, lang: str = "nb") -> str:
    """45 s, 6 min 52 s, 1 t 2 min, 3 d 4 t: the two largest units, in the page's language."""
    if seconds is None:
        return "–"
    units = (("d", "d"), ("t", "h"), ("min", "min"), ("s", "s"))
    total = round(seconds)
    parts: list[tuple[int, str]] = []
    for (nb, en), size in zip(units, (86400, 3600, 60, 1), strict=True):
        count, total = divmod(total, size)
        if count or parts:
            parts.append((count, nb if lang == "nb" else en))
    if not parts:
        parts = [(0, "s")]
    shown = parts[:2]
    if len(shown) == 2 and shown[1][0] == 0:
        shown = shown[:1]
    return " ".join(f"{n}\u00a0{unit}" for n, unit in shown)


def month(key: str, lang: str = "nb", short: bool = True) -> str:
    """2026-11 as "nov. 2026" or, not short, "november 2026" (bokmål); "Nov 2026" in English."""
    year, number = key.split("-")
    if not short:
        names = _MONTHS_NB_FULL if lang == "nb" else _MONTHS_EN_FULL
    else:
        names = _MONTHS_NB if lang == "nb" else _MONTHS_EN
    return f"{names[int(number) - 1]} {year}"


_MONTHS_NB_FULL = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
]
_MONTHS_EN_FULL = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


_MONTHS_NB = [
    "jan.",
    "feb.",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "aug.",
    "sep.",
    "okt.",
    "nov.",
    "des.",
]
_MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# "Slik leser du siden": each column and term in the words a municipal director uses.
HOW_TO_READ: dict[str, list[tuple[str, str]]] = {
    "nb": [
        (
            "Vurdering",
            "En linje per kommune som sier om alt er i orden, og hva som eventuelt må følges opp.",
        ),
        (
            "Servere i ønsket tilstand",
            "Hvor mange av kommunens servere som ved siste kjøring var satt opp slik de skal være (oppdateringer, innstillinger og sikkerhet).",
        ),
        ("Sikkerhetskopier", "Hvor mange av serverne som har en sikkerhetskopi tatt siste døgn."),
        (
            "Siste gjenopprettingstest",
            "Når vi sist hentet tilbake data fra en sikkerhetskopi og kontrollerte at alt kom tilbake uskadet. En kopi er bare verdt noe hvis den kan hentes tilbake.",
        ),
        (
            "Siste beredskapsøvelse",
            "Når vi sist øvde på å få kommunens tjenester i gang igjen etter et alvorlig uhell.",
        ),
        ("RTO", "Hvor lang tid det tar å få tjenesten tilbake, målt under øvelsen."),
        (
            "RPO",
            "Hvor mye data som kan gå tapt, målt som tiden mellom siste sikkerhetskopi og uhellet.",
        ),
        (
            "Kostnad",
            "Kommunens del av månedens kostnader i Azure: det kommunen bruker selv (direkte) og kommunens andel av det som deles (felles).",
        ),
        (
            "Felles knutepunkt i Azure",
            "Den delen av plattformen i Microsofts sky som alle fem kommunene kobles til, og som binder nettverkene sammen.",
        ),
        (
            "OK, Obs, Feil, Mangler",
            "OK: i orden. Obs: bør sjekkes, ofte fordi resultatet er gammelt. Feil: må rettes. Mangler: vi har ingen registrering, og det regnes ikke som i orden.",
        ),
    ],
    "en": [
        (
            "Verdict",
            "One line per municipality: whether all is in order, and what needs follow-up.",
        ),
        (
            "Servers in the wanted state",
            "How many of the municipality's servers were set up as they should be (updates, settings, security) at the last run.",
        ),
        ("Backups", "How many of the servers have a backup taken in the last day."),
        (
            "Last restore test",
            "When data was last brought back from a backup and checked to be whole. A backup is only worth something if it can be restored.",
        ),
        (
            "Last disaster-recovery drill",
            "When the municipality last practised getting its services running again after a serious incident.",
        ),
        ("RTO", "How long it takes to get the service back, measured in the drill."),
        (
            "RPO",
            "How much data may be lost, measured as the time between the last backup and the incident.",
        ),
        (
            "Cost",
            "The municipality's part of the month's Azure costs: what it uses itself (direct), plus its share of what is shared.",
        ),
        (
            "Shared hub in Azure",
            "The part of the platform in Microsoft's cloud that all five municipalities connect to, and that joins their networks.",
        ),
        (
            "OK, Attention, Failed, Missing",
            "OK: in order. Attention: should be checked, often because the result is old. Failed: must be fixed. Missing: there is no record, and that does not count as in order.",
        ),
    ],
}
