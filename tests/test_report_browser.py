"""The report in a real browser: Debian's headless Chromium renders it as a leader would see it.

The page itself has no script. To measure contrast and layout, the tests load a copy with one
audit script appended; it writes its findings into the DOM, which Chromium dumps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ilag_infra.model.region import load as load_region
from ilag_infra.report import costview, page, records
from tests.test_report_data import NOW, write_records

REPO = Path(__file__).resolve().parent.parent
FIX = REPO / "tests" / "fixtures" / "costs"
ARTIFACTS = REPO / "build" / "test-artifacts"
CHROMIUM = shutil.which("chromium")

MISSING = "Debian's chromium package is not installed (make setup installs it)"


@pytest.fixture(autouse=True, scope="module")
def _needs_chromium() -> None:
    """Skip without Chromium, except in CI (ILAG_REQUIRE_LAB=1), where a skip would hide that
    the page was never rendered: there it is a failure, as a skipped lab test is."""
    if CHROMIUM is not None:
        return
    if os.environ.get("ILAG_REQUIRE_LAB"):
        pytest.fail(f"ILAG_REQUIRE_LAB is set: {MISSING}", pytrace=False)
    pytest.skip(MISSING)


# No network for the browser: every host name resolves to nothing, and any request that got
# past that would go to a closed port on loopback.
FLAGS = [
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
    "--enable-logging=stderr",
    "--v=0",
]

AUDIT = """
<script>
(function () {
  function rgb(text) {
    var m = text.match(/[\\d.]+/g) || [];
    return [+m[0] || 0, +m[1] || 0, +m[2] || 0, m.length > 3 ? +m[3] : 1];
  }
  function lum(c) {
    var v = c.slice(0, 3).map(function (x) {
      x = x / 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function ratio(a, b) {
    var l1 = lum(a), l2 = lum(b);
    return (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  }
  function background(el) {
    for (; el && el.nodeType === 1; el = el.parentElement) {
      var c = rgb(getComputedStyle(el).backgroundColor);
      if (c[3] > 0) return c;
    }
    return [255, 255, 255, 1];
  }
  var fails = [], checked = 0;
  document.querySelectorAll("body *").forEach(function (el) {
    var own = Array.prototype.some.call(el.childNodes, function (n) {
      return n.nodeType === 3 && n.textContent.trim();
    });
    if (!own || el.closest("#audit")) return;
    var fg, bg;
    if (el.closest("svg")) {
      fg = rgb(getComputedStyle(el).fill);
      var g = el.closest("g.municipality, g.hub");
      var shape = g && g.querySelector("circle");
      bg = shape ? rgb(getComputedStyle(shape).fill) : background(el.closest("svg"));
    } else {
      fg = rgb(getComputedStyle(el).color);
      bg = background(el);
    }
    checked++;
    var r = ratio(fg, bg);
    if (r < 4.5) fails.push({text: el.textContent.trim().slice(0, 40), ratio: r});
  });
  var result = {
    checked: checked,
    fails: fails,
    lang: document.documentElement.lang,
    tables: document.querySelectorAll("table").length,
    tablesWithoutTh: Array.prototype.filter.call(document.querySelectorAll("table"),
      function (t) { return !t.querySelector("th"); }).length,
    sites: document.querySelectorAll("#region-map g.site").length,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    // The overview's cost: each municipality's figure and the word Kostnad on screen, inside
    // the window, and the table not scrolled sideways inside its own box either.
    costs: Array.prototype.map.call(document.querySelectorAll("#summary-table td.cost"),
      function (td) { var r = td.getBoundingClientRect();
        return {w: r.width, right: r.right, text: td.innerText.trim()}; }),
    costWords: Array.prototype.filter.call(document.querySelectorAll("#summary-table th, #summary-table .cell-label"),
      function (el) { var r = el.getBoundingClientRect();
        return el.innerText.trim() === "Kostnad" && r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; }).length,
    tableOverflow: (function (t) { var box = t.parentElement; return box.scrollWidth - box.clientWidth; })(
      document.getElementById("summary-table")),
    width: window.innerWidth
  };
  var pre = document.createElement("pre");
  pre.id = "audit";
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
})();
</script>
"""


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    loaded = load_region(REPO / "region.yaml")
    recs = records.load(write_records(tmp / "runs"))
    costs = costview.load([FIX / "ea-small.csv"], loaded.model)
    # The records' own moment, not the clock: the page shows the same states on any day.
    return page.write(page.build(loaded, recs, costs, [], "nb", now=NOW), tmp / "site")


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "html":
            self.lang = dict(attrs).get("lang") or ""

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def test_chromium_renders_the_page_with_no_console_errors(page_file: Path, tmp_path: Path) -> None:
    run = chromium("--dump-dom", page_file.as_uri(), profile=tmp_path / "profile")
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    dom = _Dom()
    dom.feed(run.stdout)
    text = " ".join(dom.text)
    assert dom.lang == "nb"
    for name in ("Hadsel", "Bø", "Øksnes", "Sortland", "Andøy"):
        assert name in text
    # What the leaders read: Bø's failed host and its drill, Andøy's cost, the region's total.
    assert "bo-util01" in text and "6\u00a0min 52\u00a0s" in text
    assert "19,21\u00a0kr" in text and "99,74\u00a0kr" in text
    assert len(re.findall(r'<g class="site"', run.stdout)) == 7


@pytest.mark.parametrize("width", [390, 1280])
def test_contrast_headers_and_layout_in_the_browser(
    page_file: Path, tmp_path: Path, width: int
) -> None:
    audited = tmp_path / "audited.html"
    html = page_file.read_text(encoding="utf-8")
    audited.write_text(html.replace("</body>", AUDIT + "</body>"), encoding="utf-8")
    run = chromium(
        f"--window-size={width},2400", "--dump-dom", audited.as_uri(), profile=tmp_path / "p"
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert [line for line in run.stderr.splitlines() if ":CONSOLE" in line] == []
    found = re.search(r'<pre id="audit">(.*?)</pre>', run.stdout, re.S)
    assert found, "the audit script did not run"
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert result["lang"] == "nb"
    assert result["checked"] > 100
    assert result["fails"] == [], "text below WCAG AA contrast"
    assert result["tables"] >= 4 and result["tablesWithoutTh"] == 0
    assert result["sites"] == 7
    assert result["overflow"] <= 0, "the page scrolls sideways"
    assert result["tableOverflow"] <= 0, "the overview table scrolls sideways"
    costs = result["costs"]
    assert len(costs) == 5
    for cost in costs:
        assert cost["w"] > 0 and cost["right"] <= result["width"], cost
        assert cost["text"].endswith("kr"), cost
    # At 1280 px the column head says Kostnad once; at 390 px each block says it.
    assert result["costWords"] == (1 if width == 1280 else 5)


def test_screenshot_is_kept_as_an_artifact(page_file: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report-phone.png"
    shot.unlink(missing_ok=True)
    run = chromium(
        "--window-size=390,2600",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        page_file.as_uri(),
        profile=tmp_path / "profile",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_the_printed_report_has_its_header_on_every_page(tmp_path: Path) -> None:
    """`ilag report --pdf` prints the overview with Chromium; each page starts a municipality
    or a section, and every page carries region, environment and date."""
    from ilag_infra.cli.app import main
    from tests.pdf_text import pages

    runs = write_records(tmp_path / "runs")
    out = tmp_path / "site"
    argv = ["report", "--out", str(out), "--runs", str(runs), "--no-plan", "--pdf",
            "--costs", str(FIX / "ea-small.csv")]  # fmt: skip
    assert main(argv) == 0
    printed = pages((out / "report.pdf").read_bytes())
    assert len(printed) >= 6  # the overview, then a page per municipality
    region = load_region(REPO / "region.yaml").model.region.display_name
    head = re.compile(
        rf"Driftsrapport: {re.escape(region)} · Miljø: lab \(testmiljø\) · "
        r"\d{1,2}\.\d{1,2}\.\d{4} kl\.\u00a0\d\d\.\d\d\u00a0CES?T"
    )
    for number, text in enumerate(printed, 1):
        assert head.search(text), f"page {number} has no header: {text[:200]!r}"
    starts = [text.split("\n")[1] if "\n" in text else "" for text in printed]
    for name in ("Bø", "Øksnes", "Sortland", "Andøy"):
        assert any(s.startswith(name) for s in starts), (name, starts)
