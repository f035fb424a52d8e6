"""`ilag recovery-plan`: the plan in bokmål from fixture records, as HTML and as a PDF that
headless Chromium prints (skipped without Chromium, except in CI, as the report's browser
tests are)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from ilag_infra.cli.app import main
from ilag_infra.model import region
from ilag_infra.report import records, recovery_plan, systems_data
from tests import pdf_text
from tests.systems_fixtures import NOW, REGISTER, repo
from tests.systems_fixtures import records as write_records

CHROMIUM = shutil.which("chromium")


def _plan(tmp_path: Path, register: str = REGISTER) -> recovery_plan.Plan:
    region_file = repo(tmp_path, register)
    loaded = region.load(region_file)
    recs = records.load(write_records(tmp_path / "runs"), "lab")
    view = systems_data.load(tmp_path, region_file, loaded, recs, ["bo"])
    return recovery_plan.build(tmp_path, loaded, view, "bo", now=NOW)


def test_plan_covers_what_the_issue_asks_with_dates(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    # Restore order: critical first.
    assert [r.system.id for r in plan.rows] == ["journal", "drift"]
    html = recovery_plan.render(plan)
    assert '<html lang="nb">' in html
    for text in (
        "Plan for sikkerhetskopi og gjenoppretting: Bø kommune (1867)",
        "EKSEMPEL",
        "container <code>backup-bo</code>",
        "14 daily, 8 weekly, 12 monthly, 3 yearly",  # region.yaml's keep rules
        "*-*-* 01:30:00",  # the role's timer
        "ilag:backupImmutabilityDays er 0",
        "ilag restore SERVER STI",
        "SSH-sertifikat fra regionen for bo-tech, region-admin",  # the identity role's
        "ILAG IKT Vesterålen",
        "(roles/identity/defaults/main.yml, 20.11.2026 kl. 09.00 CET)",  # the commit's date
        # The drill's RTO, its date and its record; the last verified restore.
        "Siste øvelse: 30.11.2026 kl. 10.00 CET",  # Norwegian time, as on the page
        "d-bo.json",
        "målt RTO 20 min",
        "20 min / 4 t",  # bokmål units, as on the page
        "30.11.2026 kl. 08.00 CET",
        # Gaps: util01's newest snapshot lacks /home, its drill RTO missed the target.
        "bo-util01:/home/drift (ikke i siste sikkerhetskopi)",
        "Øvelsen brukte 10 min, over målet 3 min",
        "Helsesjef",
        "Leverandør A",
    ):
        assert text in html.replace("\u00a0", " "), text
    assert html.index("<td>1</td><td>Journal") < html.index("<td>2</td><td>Driftskontroll")


def test_register_text_is_escaped(tmp_path: Path) -> None:
    plan = _plan(tmp_path, REGISTER.replace("owner: Helsesjef", "owner: <script>x</script>", 1))
    html = recovery_plan.render(plan)
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html


def test_missing_chromium_leaves_the_html_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(tmp_path)
    html = recovery_plan.write(plan, tmp_path / "out", pdf=False)
    assert [p.name for p in html] == ["gjenopprettingsplan-bo.html"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(recovery_plan.PdfError, match="chromium is not installed"):
        recovery_plan.print_pdf(html[0], tmp_path / "out" / "x.pdf")
    assert recovery_plan.PdfError("x").exit_code == 1


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def _pdf_title(data: bytes) -> str:
    found = re.search(rb"/Title\s*<FEFF([0-9A-Fa-f]*)>", data)
    assert found, "the PDF has no UTF-16 title"
    return bytes.fromhex(found.group(1).decode()).decode("utf-16-be")


def test_recovery_plan_command_writes_html_and_a_pdf(tmp_path: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("ILAG_REQUIRE_LAB"):
            pytest.fail("ILAG_REQUIRE_LAB is set: Debian's chromium package is not installed")
        pytest.skip("Debian's chromium package is not installed (make setup installs it)")
    region_file = repo(tmp_path)
    runs = write_records(tmp_path / "runs")
    out = tmp_path / "plan"
    rc = main(["recovery-plan", "bo", "--out", str(out), "--region", str(region_file),
               "--runs", str(runs), "--env", "lab"])  # fmt: skip
    assert rc == 0
    html = (out / "gjenopprettingsplan-bo.html").read_text(encoding="utf-8")
    html = html.replace("\u00a0", " ")
    assert "målt RTO 20 min" in html and "30.11.2026 kl. 10.00 CET" in html
    data = (out / "gjenopprettingsplan-bo.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert _pdf_pages(data) >= 2
    assert _pdf_title(data) == "Plan for sikkerhetskopi og gjenoppretting: Bø kommune"
    pages = pdf_text.pages(data)
    assert len(pages) == _pdf_pages(data)
    assert "gjenoppretting: Bø" in pages[0] and "EKSEMPEL" in pages[0]
    # The ROS analysis starts on a page of its own, after the plan's first sections.
    ros = next(i for i, page in enumerate(pages) if "5. Risiko- og sårbarhetsanalyse" in page)
    assert ros >= 1
    text = pdf_text.text(data).replace("\u00a0", " ")
    for words in ("Siste øvelse: 30.11.2026 kl. 10.00 CET", "målt RTO 20 min",
                  "20 min / 4 t", "Løsepengevirus", "6. Åpne avvik",
                  "SSH-sertifikat fra regionen for bo-tech, region-admin"):  # fmt: skip
        assert words in text, words
    assert not (out / ".chromium-profile").exists()


def test_recovery_plan_unknown_municipality_is_bad_input(tmp_path: Path) -> None:
    assert main(["recovery-plan", "narvik", "--out", str(tmp_path / "o"),
                 "--region", str(repo(tmp_path))]) == 2  # fmt: skip
    assert not (tmp_path / "o").exists()
