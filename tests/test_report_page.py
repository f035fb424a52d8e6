"""`ilag report` writes one self-contained page; read back as plain HTML, it says what it should."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from tests.test_report_data import write_records

FIX = Path(__file__).resolve().parent / "fixtures" / "costs"
NAMES = ["Hadsel", "Bø", "Øksnes", "Sortland", "Andøy"]


class Page(HTMLParser):
    """The parts of a page the tests look at: tags, attributes, text by section, tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.tables: list[dict[str, int]] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag == "table":
            self.tables.append({"th": 0, "td": 0})
        elif tag in ("th", "td") and self.tables:
            self.tables[-1][tag] += 1

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())

    def all_text(self) -> str:
        return " ".join(self.text)

    def with_class(self, cls: str) -> list[dict[str, str]]:
        return [a for _, a in self.tags if cls in a.get("class", "").split()]


def report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str
) -> tuple[str, Page, Path]:
    # `ilag report` judges backup ages against the clock, so the records are dated from now.
    runs = write_records(tmp_path / "runs", datetime.now(UTC))
    out = tmp_path / "site"
    code = main(["report", "--out", str(out), "--runs", str(runs), "--no-plan", *extra])
    _, err = capsys.readouterr()
    assert code == 0, err
    html = (out / "index.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    return html, page, out / "index.html"


def test_page_is_self_contained_and_in_bokmal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html, page, _ = report(capsys, tmp_path, "--costs", str(FIX / "ea-small.csv"))
    assert page.tags[0][0] == "html" and page.tags[0][1]["lang"] == "nb"
    assert not [t for t, _ in page.tags if t in ("script", "link", "iframe", "img", "object")]
    # Nothing is fetched: no external URL in any attribute or style. The only links are to
    # the municipalities' own pages beside it, which the report writes too.
    slugs = {"hadsel", "bo", "oksnes", "sortland", "andoy"}
    for tag, attrs in page.tags:
        for key, value in attrs.items():
            if key in ("src", "action") or (key == "href" and value[:-5] not in slugs):
                pytest.fail(f"{key}={value} would fetch something")
            if key == "href":
                assert tag == "a" and (out_dir(tmp_path) / value).is_file()
    assert not re.search(r"url\(|@import|https?://(?!www\.w3\.org/2000/svg)", html)
    assert any(a.get("name") == "viewport" for t, a in page.tags if t == "meta")
    text = page.all_text()
    assert "Driftsrapport" in text and "Sikkerhetskopier" in text


def out_dir(tmp_path: Path) -> Path:
    return tmp_path / "site"


def test_every_table_has_header_cells(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _, page, _ = report(capsys, tmp_path, "--costs", str(FIX / "ea-small.csv"))
    assert len(page.tables) >= 4
    assert all(t["th"] > 0 for t in page.tables)


def test_leaders_read_health_per_municipality(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html, page, _ = report(capsys, tmp_path, "--costs", str(FIX / "ea-small.csv"))
    text = page.all_text()
    for name in NAMES:
        assert name in text
    card = {m: _card(html, m) for m in ("hadsel", "bo", "oksnes", "sortland", "andoy")}
    assert "hadsel-app01" in card["hadsel"] and "for gammel" in card["hadsel"]  # stale backup
    # 2 h and 1 h old: taken in the last day
    fresh = "</span> tatt siste døgn"
    assert card["hadsel"].count(fresh) == 1 and fresh in card["sortland"]
    assert "bo-util01" in card["bo"] and "feilet" in card["bo"]
    # The drill's RTO and RPO in Norwegian units
    assert "6\u00a0min 52\u00a0s" in card["bo"] and "1\u00a0t 2\u00a0min" in card["bo"]
    assert card["andoy"].count("ikke registrert") == 4  # nothing known, said so
    assert "sortland-fil01 (OK)" in card["sortland"]
    # Costs: each card shows its direct and shared parts; the table's sum is the export's.
    assert "19,21\u00a0kr" in card["andoy"] and "3,40\u00a0kr" in card["andoy"]
    assert "99,74\u00a0kr" in html
    assert "30 % fordeles likt, 70 % etter innbyggertall" in text


def test_svg_has_one_node_per_site_and_the_chart_one_bar_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, repo_root: Path
) -> None:
    from ilag_infra.model.region import load

    _, page, _ = report(capsys, tmp_path, "--costs", str(FIX / "ea-small.csv"))
    region = load(repo_root / "region.yaml").model
    sites = page.with_class("site")
    assert len(sites) == sum(len(m.sites) for m in region.municipalities) == 7
    assert {s["data-municipality"] for s in sites} == set(region.slugs)
    assert len(page.with_class("municipality")) == 5
    assert len(page.with_class("vpn-link")) == 7
    assert len(page.with_class("bar")) == 5
    bo = {s["data-state"] for s in sites if s["data-municipality"] == "bo"}
    assert bo == {"bad"}


def test_missing_costs_are_missing_not_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html, page, _ = report(capsys, tmp_path)
    assert "0,00" not in html
    assert "Ingen kostnadsdata er lagt ved" in page.all_text()
    assert not page.with_class("bar")


def test_english_page_from_a_costs_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["costs", str(FIX / "focus-small.csv"), "--format", "json"]) == 0
    out, _ = capsys.readouterr()
    costs = tmp_path / "costs.json"
    costs.write_text(out, encoding="utf-8")
    html, page, _ = report(capsys, tmp_path, "--lang", "en", "--costs", str(costs))
    assert page.tags[0][1]["lang"] == "en"
    assert "Operations report" in page.all_text() and "no record yet" in html
    assert "NOK\u00a019.21" in html


def test_bad_language_or_costs_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["report", "--out", str(tmp_path), "--lang", "de", "--no-plan"]) == 2
    bad = tmp_path / "costs.json"
    bad.write_text('{"format": "other"}', encoding="utf-8")
    assert main(["report", "--out", str(tmp_path), "--costs", str(bad), "--no-plan"]) == 2
    _, err = capsys.readouterr()
    assert "ilag-costs/1" in err


def _card(html: str, slug: str) -> str:
    start = html.index(f'id="m-{slug}"')
    return html[start : html.index("</section>", start)]


def test_the_plan_findings_section_and_the_hub(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runs = write_records(tmp_path / "runs", datetime.now(UTC))
    out = tmp_path / "site"
    assert main(["report", "--out", str(out), "--runs", str(runs)]) == 0
    capsys.readouterr()
    page = Page()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    text = page.all_text()
    assert "Planen ble ikke kjørt" not in text
    assert "Ingen åpne funn." in text or page.with_class("bad") or page.with_class("warn")
    [hub] = page.with_class("hub")
    assert hub["data-state"] in ("ok", "warn", "bad")  # known, not missing
    assert "ilag plan" in text  # listed among the sources
