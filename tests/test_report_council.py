"""The council's page read as a municipal director reads it: plain bokmål, a verdict per
municipality, Norwegian time and units, a page per municipality with its last 12 months, and
lab results marked as lab and never on a production page."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ilag_infra.model.region import load as load_region
from ilag_infra.report import costview, history, labels, page, records
from tests.test_report_data import NOW, REPO, apply_record, envelope, write_records

FIX = REPO / "tests" / "fixtures" / "costs"
SLUGS = ["hadsel", "bo", "oksnes", "sortland", "andoy"]


class Visible(HTMLParser):
    """The text a reader sees (no style element), and every attribute value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.attrs: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._style = tag == "style"
        self.attrs += [v or "" for _, v in attrs]

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if not self._style and data.strip():
            self.text.append(re.sub(r"[ \t\r\n]+", " ", data.strip()))


def visible(html: str) -> str:
    v = Visible()
    v.feed(html)
    return " | ".join(v.text)


def build(tmp_path: Path, recs: records.Records | None = None) -> Path:
    loaded = load_region(REPO / "region.yaml")
    if recs is None:
        recs = records.load(write_records(tmp_path / "runs"), "lab")
    costs = costview.load([FIX / "ea-small.csv"], loaded.model)
    data = page.build(loaded, recs, costs, [], "nb", now=NOW)
    return page.write(data, tmp_path / "site").parent


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return build(tmp_path)


def _pages(site: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(site.glob("*.html"))}


def test_a_page_per_municipality_linked_from_the_overview(site: Path) -> None:
    pages = _pages(site)
    assert sorted(pages) == sorted(["index.html", *(f"{s}.html" for s in SLUGS)])
    for slug in SLUGS:
        assert f'href="{slug}.html"' in pages["index.html"]
        assert 'href="index.html"' in pages[f"{slug}.html"]
    bo = visible(pages["bo.html"])
    assert "Bø: Driftsrapport" in bo and "bo-util01" in bo and "hadsel-app01" not in bo
    assert "Utvikling siste 12 måneder" in bo


def test_plain_words_only(site: Path) -> None:
    for name, html in _pages(site).items():
        text = visible(html)
        v = Visible()
        v.feed(html)
        # Nav is the welfare agency; the hub is the shared junction in Azure.
        assert not re.search(r"\bnav(et)?\b", text + " ".join(v.attrs), re.I), name
        assert "fersk" not in text and "ingen registrering ennå" not in text, name
        for english in ("findings", "unreadable", "left out", "record", "fresh", "stale", "UTC"):
            assert english not in text, (name, english)
        assert "SVG" not in text, name  # no developer notes about how the page is drawn
    index = visible(_pages(site)["index.html"])
    assert "Felles knutepunkt i Azure" in index
    assert "1 av 2 tatt siste døgn" in index  # Hadsel: one backup too old
    assert "Mangler | ikke registrert" in index


def test_a_verdict_per_municipality(site: Path) -> None:
    index = visible(_pages(site)["index.html"])
    assert "Sortland | OK | Alt i orden" in index
    assert "Trenger oppfølging: 1 server er ikke i ønsket tilstand" in index  # Bø
    assert "Trenger oppfølging: 1 sikkerhetskopi er ikke tatt siste døgn" in index  # Hadsel
    assert "Ukjent: ingenting er registrert ennå" in index  # Andøy, Øksnes


def test_how_to_read_explains_each_column_rto_rpo_and_the_hub(site: Path) -> None:
    index = _pages(site)["index.html"]
    section = visible(
        index[index.index('id="how"') : index.index("</section>", index.index('id="how"'))]
    )
    for column in ("Servere i ønsket tilstand", "Sikkerhetskopier", "Siste gjenopprettingstest",
                   "Siste beredskapsøvelse", "Kostnad", "Vurdering"):  # fmt: skip
        assert column in section
    assert "Hvor lang tid det tar å få tjenesten tilbake" in section
    assert "Hvor mye data som kan gå tapt" in section
    assert "Felles knutepunkt i Azure" in section


def test_times_in_oslo_with_the_zone_and_norwegian_durations(site: Path) -> None:
    index = visible(_pages(site)["index.html"])
    # NOW is 12:00 UTC in November: 13.00 in Oslo, winter time.
    assert "30.11.2026 kl.\u00a013.00\u00a0CET" in index
    assert "Alle tidspunkter er norsk tid (Europe/Oslo)." in index
    assert "RTO 6\u00a0min 52\u00a0s, RPO 1\u00a0t 2\u00a0min" in index
    summer = datetime(2026, 7, 1, 12, 5, tzinfo=UTC)
    assert labels.when(summer) == "1.7.2026 kl.\u00a014.05\u00a0CEST"
    assert labels.duration(45) == "45\u00a0s"
    assert labels.duration(3 * 86400) == "3\u00a0d"
    assert labels.duration(3725) == "1\u00a0t 2\u00a0min"
    assert labels.duration(3725, "en") == "1\u00a0h 2\u00a0min"


def test_site_names_in_the_systems_table_are_display_names() -> None:
    template = (REPO / "src/ilag_infra/report/templates/systems_section.html.j2").read_text()
    assert "{{ slug }}" not in template and "{{ row.slug }}" not in template


def test_sites_on_the_map_are_named_as_people_write_them(site: Path) -> None:
    # region.yaml's display_name; the slug stays the technical name elsewhere.
    index = visible(_pages(site)["index.html"])
    for name in ("Risøyhamn", "Rådhuset", "Stokmarknes"):
        assert name in index, name
    for slug in ("risoyhamn", "radhuset", "stokmarknes"):
        assert slug not in index.split(" | "), slug


def _write(runs: Path, recs: dict[str, dict[str, Any]]) -> Path:
    runs.mkdir(parents=True, exist_ok=True)
    for name, data in recs.items():
        (runs / name).write_text(json.dumps(data), encoding="utf-8")
    return runs


def _backup(slug: str, when: datetime, ok: bool, environment: str = "lab") -> dict[str, Any]:
    return {
        **envelope("backup", slug, when, ok, environment),
        "action": "run",
        "max_age_hours": 26,
        "hosts": [{"host": f"{slug}-fil01", "state": "ok" if ok else "failed", "fresh": ok}],
    }


def test_twelve_months_of_backups_and_drift(tmp_path: Path) -> None:
    month = timedelta(days=31)
    runs = _write(
        tmp_path / "runs",
        {
            "b1.json": _backup("bo", NOW - timedelta(days=1), True),
            "b2.json": _backup("bo", NOW - timedelta(days=2), False),
            "b3.json": _backup("bo", NOW - 3 * month, True),
            "b-old.json": _backup("bo", NOW - 13 * month, False),  # past the 12 months
            "c1.json": apply_record(
                "bo", {"bo-util01": {"changed": 2}, "bo-fil01": {}}, NOW - month, check=True
            ),
            "d1.json": {
                **envelope("drift", "bo", NOW - timedelta(days=3), False),
                "hosts": [{"host": "bo-util01", "items": ["/etc/ssh/sshd_config"]}],
            },
        },
    )
    recs = records.load(runs, "lab")
    backups = history.backups(recs, "bo", NOW)
    assert [m.key for m in backups.months][-1] == "2026-11" and len(backups.months) == 12
    assert backups.months[0].key == "2025-12"
    by = {m.key: m for m in backups.months}
    assert by["2026-11"].text == "1 av 2 kontroller" and by["2026-11"].state == "warn"
    assert by["2026-08"].text == "1 av 1 kontroll" and by["2026-08"].state == "ok"
    assert by["2026-10"].text == "ingen registreringer" and by["2026-10"].fraction is None
    drift = {m.key: m for m in history.drift(recs, "bo", NOW).months}
    assert drift["2026-11"].text == "1" and drift["2026-10"].text == "1"
    assert drift["2026-09"].text == "ingen registreringer"
    html = (build(tmp_path, recs) / "bo.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<rect class="bar-[a-z]+" data-month=', html)) == 24
    assert "nov. 2026: 1 av 2 kontroller" in html
    assert "Kostnad per måned vises ikke" in html


def test_lab_is_marked_and_never_on_a_production_page(tmp_path: Path) -> None:
    lab_site = build(tmp_path / "lab")
    for html in _pages(lab_site).values():
        assert "Lab – ikke produksjon" in visible(html)
    # A production source that let lab records through (as a store listing might): the page
    # drops each, shows the production record only, and carries no lab banner.
    runs = _write(
        tmp_path / "runs",
        {
            "lab.json": apply_record("hadsel", {"hadsel-lab01": {}}, NOW),
            "prod.json": apply_record(
                "hadsel", {"hadsel-app01": {}}, NOW - timedelta(hours=1), environment="prod"
            ),
        },
    )
    mixed = replace(records.load(runs), environment="prod")
    assert len(mixed.records) == 2
    prod_site = build(tmp_path / "prod", mixed)
    for name, html in _pages(prod_site).items():
        text = visible(html)
        assert "hadsel-lab01" not in text and "Lab – ikke produksjon" not in text, name
    index = visible((prod_site / "index.html").read_text(encoding="utf-8"))
    assert "hadsel-app01" in index and "Miljø: produksjon" in index
    assert "1 fra andre miljøer er holdt utenfor" in index


def test_a_name_cannot_break_out_of_the_print_header() -> None:
    text = page.css_string('Vesterålen "</style><script>x</script>\\')
    assert '"' not in text and "<" not in text and "\\\\" not in text.replace("\\5c ", "")
    assert text.startswith("Vesterålen \\22 \\3c")


def test_findings_say_in_words_what_must_and_what_should_be_fixed(tmp_path: Path) -> None:
    loaded = load_region(REPO / "region.yaml")
    recs = records.load(write_records(tmp_path / "runs"), "lab")
    found = [
        page.Finding("access-matrix", "operators", "operators cannot read-backup", "mandatory"),
        page.Finding("access-gap", "ci-deploy", "ci-deploy can delete-backup-version", "advisory"),
    ]
    data = page.build(loaded, recs, None, found, "nb", now=NOW)
    text = visible((page.write(data, tmp_path / "site")).read_text(encoding="utf-8"))
    assert "Må rettes | access-matrix | operators" in text
    assert "Bør rettes | access-gap | ci-deploy" in text
    assert "Meldingene er tekniske og står på engelsk" in text


def test_pdf_without_chromium_fails_after_writing_the_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ilag_infra.cli.app import main

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no chromium to be found
    runs = write_records(tmp_path / "runs")
    out = tmp_path / "site"
    assert main(["report", "--out", str(out), "--runs", str(runs), "--no-plan", "--pdf"]) == 1
    said = " ".join(capsys.readouterr())
    assert "report.pdf not written" in said and "chromium is not installed" in said
    assert (out / "index.html").is_file() and (out / "bo.html").is_file()
    assert not (out / "report.pdf").exists()


def test_records_not_read_are_counted_and_named_in_bokmal(tmp_path: Path) -> None:
    old = {k: v for k, v in envelope("restore", "bo", NOW, True).items() if k != "schema_version"}
    runs = _write(tmp_path / "runs", {"old.json": {**old, "host": "bo-fil01"}})
    recs = records.load(runs, "lab")
    assert len(recs.rejected) == 1
    text = visible((build(tmp_path, recs) / "index.html").read_text(encoding="utf-8"))
    assert "1 har et format rapporten ikke kjenner (old.json)" in text
    assert "schema_version" not in text
